/**
 * The sandbox's clock and snapshots. Both replace what every screen shows (the clock moves
 * expiry, tokens and webhooks; a restore or reset replaces the whole register), so after
 * either the console takes a session token at the register's new time and refetches everything.
 */
import { queryOptions, useQuery, type QueryClient } from '@tanstack/react-query';
import { useAuth } from '../auth';
import { api, setServerTime } from './client';
import { useApiMutation, type MutationUi } from './hooks';
import { invalidate, invalidateEverything, queryKeys } from './keys';
import type { ClockState, Envelope } from './types';

export interface Snapshot {
  id: string;
  name: string;
  'created-at': string;
  'size-bytes': number;
}

type ClockAnswer = Envelope & ClockState;

export const sandboxQueries = {
  clock: () => queryOptions({ queryKey: queryKeys.clock, queryFn: ({ signal }) => api<ClockAnswer>('/admin/clock', { signal }) }),
  snapshots: () => queryOptions({ queryKey: queryKeys.snapshots, queryFn: ({ signal }) => api<Envelope & { snapshots: Snapshot[]; location: string }>('/admin/sandbox/snapshots', { signal }) }),
};

export function useClock(refetchInterval: number) {
  return useQuery({ ...sandboxQueries.clock(), refetchInterval });
}

export function useSnapshots() {
  return useQuery(sandboxQueries.snapshots());
}

/** After the register's time or state moved: its clock, a fresh session token, then every query. */
function useAfterReplace() {
  const { renew } = useAuth();
  return async (qc: QueryClient, now: string, clock?: ClockState) => {
    setServerTime(now);
    if (clock) qc.setQueryData(queryKeys.clock, (old: unknown) => ({ ...(old as object), ...clock }));
    // Session tokens are timed by the register's clock: take a fresh one at the new time.
    await renew();
    invalidateEverything(qc);
  };
}

// Every change runs what fell due on the way, in order (retries, expiry, notices).
function useClockChange<TVars>(toBody: (v: TVars) => Record<string, unknown>, ui?: MutationUi<ClockAnswer, TVars>) {
  const after = useAfterReplace();
  return useApiMutation(
    (v: TVars) => api<ClockAnswer>('/admin/clock', { method: 'POST', body: toBody(v) }),
    (qc, res) => after(qc, res.now, res),
    ui,
  );
}

export function useAdvanceClock(ui?: MutationUi<ClockAnswer, number>) {
  return useClockChange((seconds: number) => ({ 'advance-seconds': Math.round(seconds) }), ui);
}

export function useSetClock(ui?: MutationUi<ClockAnswer, string>) {
  return useClockChange((iso: string) => ({ set: iso }), ui);
}

export function useResetClock() {
  return useClockChange(() => ({ reset: true }));
}

export function useSaveSnapshot(ui?: MutationUi<Envelope & Snapshot, string>) {
  return useApiMutation(
    (name: string) => api<Envelope & Snapshot>('/admin/sandbox/snapshots', { method: 'POST', body: { name } }),
    (qc) => invalidate(qc, queryKeys.snapshots),
    ui,
  );
}

export function useRestoreSnapshot() {
  const after = useAfterReplace();
  return useApiMutation(
    (id: string) => api<Envelope & { restored: Snapshot; now: string }>(`/admin/sandbox/snapshots/${encodeURIComponent(id)}/restore`, { method: 'POST' }),
    (qc, res) => after(qc, res.now),
  );
}

/** Back to the demo data or an empty register; accounts and saved snapshots stay. */
export function useResetSandbox() {
  const after = useAfterReplace();
  return useApiMutation(
    (seed: 'demo' | 'empty') => api<Envelope & { seed: string; now: string }>('/admin/sandbox/reset', { method: 'POST', body: { seed } }),
    (qc, res) => after(qc, res.now),
  );
}
