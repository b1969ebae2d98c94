/** Discovered access (reported by the DCC), and the sandbox's simulated DCC. */
import { api, type QueryValue } from './client';
import { useApiMutation, useTablePage, type ListState, type MutationUi } from './hooks';
import { invalidate, queryKeys } from './keys';
import type { DiscoveredRow, Envelope } from './types';

export function useDiscoveredList(filters: Record<string, QueryValue>, state: ListState) {
  return useTablePage<DiscoveredRow>(queryKeys.discovered.list, '/admin/discovered-access', 'records', filters, state);
}

export function useReportDiscovered(ui?: MutationUi<Envelope & { ak: string; state: string }, Record<string, unknown>>) {
  return useApiMutation(
    (body: Record<string, unknown>) => api<Envelope & { ak: string; state: string }>('/admin/sandbox/discovered-access', { method: 'POST', body }),
    (qc) => invalidate(qc, queryKeys.discovered.all, queryKeys.stats),
    ui,
  );
}

/** A change of tenancy queues tenancy.change webhooks; nothing is revoked. */
export function useReportChangeOfTenancy(ui?: MutationUi<Envelope & Record<string, unknown>, Record<string, unknown>>) {
  return useApiMutation(
    (body: Record<string, unknown>) => api<Envelope & Record<string, unknown>>('/admin/sandbox/cot-events', { method: 'POST', body }),
    (qc) => invalidate(qc, queryKeys.deliveries.all, queryKeys.stats),
    ui,
  );
}
