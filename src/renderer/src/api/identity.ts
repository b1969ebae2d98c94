/** Identity records: search, one record (masked until revealed), anonymisation, passkeys. */
import { queryOptions, useQuery, type QueryClient } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import { useApiMutation, useTablePage, type ListState } from './hooks';
import { invalidate, queryKeys } from './keys';
import type { Envelope, ExistsAnswer, IdentityDetail, IdentityRow } from './types';

const identityPath = (ir: string) => `/admin/identity-records/${encodeURIComponent(ir)}`;

export const identityQueries = {
  /** `revealed` asks for the address and e-mail unmasked, which the register audits (identity-record.read). */
  detail: (ir: string, revealed: boolean) =>
    queryOptions({
      queryKey: queryKeys.identity.detail(ir, revealed),
      queryFn: ({ signal }) => api<Envelope & IdentityDetail>(identityPath(ir), { query: revealed ? { reveal: 'true' } : {}, signal }),
    }),
  /** Which re-identification methods a meter point's customer can use (the desk). */
  exists: (mpxn: string) =>
    queryOptions({
      queryKey: queryKeys.desk.exists(mpxn),
      queryFn: ({ signal }) => api<Envelope & ExistsAnswer>('/admin/identity-records/exists', { query: { mpxn }, signal }),
    }),
  /** The Data Users holding an identity record for a meter point (the desk). */
  holders: (mpxn: string) =>
    queryOptions({
      queryKey: queryKeys.desk.holders(mpxn),
      queryFn: ({ signal }) => api<Envelope & { 'identity-records': IdentityRow[]; total?: number }>('/admin/identity-records', { query: { mpxn, limit: 5 }, signal }),
    }),
};

/** Identity records are personal data: the list waits for a search (`enabled`). */
export function useIdentityList(filters: Record<string, QueryValue>, state: ListState, enabled: boolean) {
  return useTablePage<IdentityRow>(queryKeys.identity.list, '/admin/identity-records', 'identity-records', filters, state, { enabled });
}

export function useIdentityRecord(ir: string, revealed: boolean) {
  // The masked record stays on screen while the revealed one loads (and back).
  return useQuery({ ...identityQueries.detail(ir, revealed), placeholderData: (prev) => prev });
}

export function useMpxnExists(mpxn: string) {
  return useQuery({ ...identityQueries.exists(mpxn), enabled: !!mpxn });
}

export function useIdentityHolders(mpxn: string) {
  return useQuery({ ...identityQueries.holders(mpxn), enabled: !!mpxn });
}

const identityChanged = (qc: QueryClient) => invalidate(qc, queryKeys.identity.all, queryKeys.stats, queryKeys.audit.all);

/** GDPR Art. 17: the register refuses (409) while a linked access record is ACTIVE. */
export function useAnonymiseIdentity(ir: string) {
  return useApiMutation(() => api(identityPath(ir), { method: 'DELETE' }), identityChanged);
}

export function useRemovePasskey(ir: string) {
  return useApiMutation((credentialId: string) => api(`${identityPath(ir)}/credentials/${encodeURIComponent(credentialId)}`, { method: 'DELETE' }), identityChanged);
}
