/** The register's settings and counters (the navigation badges, the overview). */
import type { Mode } from '../../../shared/vocabulary';
import { queryOptions, useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback } from 'react';
import { api } from './client';
import { invalidate, queryKeys } from './keys';
import type { Envelope, Settings, Stats } from './types';

export const registerQueries = {
  settings: () => queryOptions({ queryKey: queryKeys.settings, queryFn: ({ signal }) => api<Envelope & Settings>('/admin/settings', { signal }), staleTime: 60_000 }),
  stats: () => queryOptions({ queryKey: queryKeys.stats, queryFn: ({ signal }) => api<Envelope & Stats>('/admin/stats', { signal }) }),
};

export function useSettings() {
  return useQuery(registerQueries.settings());
}

export function useStats(refetchInterval: number | false = 15_000) {
  return useQuery({ ...registerQueries.stats(), refetchInterval });
}

/** Sandbox or production, from settings (or stats while settings are missing). */
export function useMode(): Mode | null {
  const settings = useSettings();
  const stats = useQuery({ ...registerQueries.stats(), enabled: settings.isError });
  return settings.data?.mode ?? stats.data?.mode ?? null;
}

/** Refreshes the counters (navigation badges) after something changed them behind the console's back. */
export function useRefreshStats(): () => void {
  const qc = useQueryClient();
  return useCallback(() => invalidate(qc, queryKeys.stats), [qc]);
}
