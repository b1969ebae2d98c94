/** Access records: the paged list, one record with its timeline, revocation. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import { useApiMutation, useTablePage, type ListState } from './hooks';
import { invalidate, queryKeys } from './keys';
import type { Envelope, RecordDetail, RecordRow } from './types';

export const recordQueries = {
  detail: (ak: string) =>
    queryOptions({
      queryKey: queryKeys.records.detail(ak),
      queryFn: ({ signal }) => api<Envelope & { record: RecordDetail }>(`/admin/records/${encodeURIComponent(ak)}`, { signal }),
    }),
  /** The newest few records a Data User registered (its account page). */
  ownedBy: (duid: string) =>
    queryOptions({
      queryKey: queryKeys.records.ownedBy(duid),
      queryFn: ({ signal }) => api<Envelope & { records: RecordRow[]; total: number }>('/admin/records', { query: { q: duid, limit: 5 }, signal }),
    }),
};

export function useRecordList(filters: Record<string, QueryValue>, state: ListState) {
  return useTablePage<RecordRow>(queryKeys.records.list, '/admin/records', 'records', filters, state);
}

export function useRecord(ak: string) {
  return useQuery(recordQueries.detail(ak));
}

export function useRecordsOwnedBy(duid: string) {
  return useQuery(recordQueries.ownedBy(duid));
}

/** Revoking changes the record, its identity record's links, the counters and the audit log. */
export function useRevokeRecord(ak: string) {
  return useApiMutation(
    (reason: string) => api(`/admin/records/${encodeURIComponent(ak)}/revoke`, { method: 'POST', body: { reason } }),
    (qc) => invalidate(qc, queryKeys.records.all, queryKeys.stats, queryKeys.identity.all, queryKeys.audit.all),
  );
}
