/** The audit log: the paged list, the hash-chain check, recent events, page-by-page export. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import { useTablePage, type ListState } from './hooks';
import { queryKeys } from './keys';
import type { AuditEvent, AuditVerify, Envelope } from './types';

type AuditPage = Envelope & { events: AuditEvent[]; 'next-cursor'?: string | null };

export function fetchAuditPage(query: Record<string, QueryValue>, signal?: AbortSignal): Promise<AuditPage> {
  return api<AuditPage>('/admin/audit', { query, signal });
}

export const auditQueries = {
  verify: () => queryOptions({ queryKey: queryKeys.audit.verify, queryFn: ({ signal }) => api<Envelope & AuditVerify>('/admin/audit/verify', { signal }), staleTime: 60_000 }),
  recent: () => queryOptions({ queryKey: queryKeys.audit.recent, queryFn: ({ signal }) => fetchAuditPage({ limit: 10 }, signal) }),
  ofAccount: (accountId: string) => queryOptions({ queryKey: queryKeys.audit.ofAccount(accountId), queryFn: ({ signal }) => fetchAuditPage({ 'account-id': accountId, limit: 10 }, signal) }),
};

export function useAuditList(filters: Record<string, QueryValue>, state: ListState) {
  return useTablePage<AuditEvent>(queryKeys.audit.list, '/admin/audit', 'events', filters, state);
}

export function useAuditVerify() {
  return useQuery(auditQueries.verify());
}

export function useRecentAudit(refetchInterval: number) {
  return useQuery({ ...auditQueries.recent(), refetchInterval });
}

/** What this account did, and what was done to it, newest first. */
export function useAccountAudit(accountId: string) {
  return useQuery(auditQueries.ofAccount(accountId));
}
