/** Accounts (Data Users, portals, DCC, data providers, staff): lists, detail, changes. */
import { queryOptions, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api, ApiError, type QueryValue } from './client';
import { useApiMutation, useTablePage, type ListState, type MutationUi } from './hooks';
import { invalidate, queryKeys } from './keys';
import type { Account, DirectoryEntry, Envelope, Role } from './types';

type AccountAnswer = Envelope & { account: Account };

const accountPath = (accountId: string) => `/admin/accounts/${encodeURIComponent(accountId)}`;

export async function fetchAccount(accountId: string, signal?: AbortSignal): Promise<{ account: Account }> {
  // Links that only know a DUID (webhooks, records) land on an account's page too.
  if (accountId.startsWith('duid_')) {
    const found = await api<Envelope & { accounts: Account[] }>('/admin/accounts', { query: { q: accountId, limit: 1 }, signal });
    if (!found.accounts[0]) throw new ApiError(404, [{ code: 'NOT001', message: `No account has DUID ${accountId}.` }]);
    return { account: found.accounts[0] };
  }
  return api<AccountAnswer>(accountPath(accountId), { signal });
}

export const accountQueries = {
  detail: (accountId: string) => queryOptions({ queryKey: queryKeys.accounts.detail(accountId), queryFn: ({ signal }) => fetchAccount(accountId, signal) }),
  byDuid: (duid: string) =>
    queryOptions({
      queryKey: queryKeys.accounts.byDuid(duid),
      queryFn: ({ signal }) => api<Envelope & { accounts: Account[] }>('/admin/accounts', { query: { role: 'data_user', q: duid, limit: 5 }, signal }),
      staleTime: 60_000,
    }),
  names: (role: Role) =>
    queryOptions({
      queryKey: queryKeys.accounts.names(role),
      queryFn: ({ signal }) => api<Envelope & { accounts: Account[] }>('/admin/accounts', { query: { role, limit: 500 }, signal }),
      staleTime: 60_000,
    }),
  picker: (roles: readonly Role[], term: string, onlyActive: boolean) =>
    queryOptions({
      queryKey: queryKeys.accounts.picker(roles, term, onlyActive),
      queryFn: async ({ signal }) => {
        const pages = await Promise.all(roles.map((role) => api<Envelope & { accounts: Account[] }>('/admin/accounts', { query: { role, q: term || undefined, status: onlyActive ? 'active' : undefined, limit: 8 }, signal })));
        return pages.flatMap((p) => p.accounts);
      },
      staleTime: 10_000,
    }),
  directory: (duid: string) =>
    queryOptions({
      queryKey: queryKeys.accounts.directory(duid),
      queryFn: ({ signal }) => api<Envelope & { 'data-user': DirectoryEntry }>(`/data-users/${encodeURIComponent(duid)}`, { signal }),
    }),
};

export function useAccountList(role: Role, filters: Record<string, QueryValue>, state: ListState) {
  return useTablePage<Account>(queryKeys.accounts.list(role), '/admin/accounts', 'accounts', { role, ...filters }, state);
}

export function useAccount(accountId: string) {
  return useQuery({ ...accountQueries.detail(accountId), enabled: !!accountId });
}

/** The Data User with this DUID (searched on the register), so screens show its name. */
export function useDataUser(duid: string): Account | null {
  const q = useQuery({ ...accountQueries.byDuid(duid), enabled: !!duid });
  return q.data?.accounts.find((a) => a.duid === duid) ?? null;
}

/** Display names by DUID, for lists that show many Data Users. */
export function useDataUserNames(): Map<string, string> {
  const q = useQuery(accountQueries.names('data_user'));
  return new Map((q.data?.accounts ?? []).map((a) => [a.duid, a['display-name']]));
}

export function useAccountSearch(roles: readonly Role[], term: string, onlyActive: boolean, enabled: boolean) {
  return useQuery({ ...accountQueries.picker(roles, term, onlyActive), enabled });
}

export function useDirectoryEntry(duid: string) {
  return useQuery(accountQueries.directory(duid));
}

/** An account the console already has (a picker's choice) is its detail until the register answers. */
export function useSeedAccount(): (account: Account) => void {
  const qc = useQueryClient();
  return (account) => qc.setQueryData(queryKeys.accounts.detail(account['account-id']), (old: unknown) => old ?? { account });
}

/** An account changed: its detail (cached under `changed.cacheId`) shows the register's answer at once. */
function accountChanged(qc: QueryClient, changed?: { cacheId: string; account: Account }): void {
  if (changed) qc.setQueryData(queryKeys.accounts.detail(changed.cacheId), (old: unknown) => ({ ...(old as object), account: changed.account }));
  invalidate(qc, queryKeys.accounts.all, queryKeys.stats, queryKeys.audit.all);
}

export function useCreateAccount(ui?: MutationUi<Envelope & { account: Account; 'secret-key'?: string }, Record<string, unknown>>) {
  return useApiMutation(
    (body: Record<string, unknown>) => api<Envelope & { account: Account; 'secret-key'?: string }>('/admin/accounts', { method: 'POST', body }),
    (qc) => accountChanged(qc),
    ui,
  );
}

export function useUpdateAccount(accountId: string, ui?: MutationUi<AccountAnswer, Record<string, unknown>>) {
  return useApiMutation(
    (body: Record<string, unknown>) => api<AccountAnswer>(accountPath(accountId), { method: 'PATCH', body }),
    (qc, res) => accountChanged(qc, { cacheId: accountId, account: res.account }),
    ui,
  );
}

export type AccountAction = 'suspend' | 'reactivate' | 'terminate' | 'sign-out-everywhere';

/**
 * Suspend, reactivate, terminate or sign out everywhere. `cacheId` is the id the detail
 * screen was opened with (it may be a DUID), so its cached account is replaced at once.
 */
export function useAccountAction(accountId: string, cacheId: string) {
  return useApiMutation(
    ({ action, reason }: { action: AccountAction; reason?: string }) => api<AccountAnswer>(`${accountPath(accountId)}/${action}`, { method: 'POST', ...(reason ? { body: { reason } } : {}) }),
    (qc, res) => accountChanged(qc, { cacheId, account: res.account }),
  );
}

/**
 * Issues a new secret key. `beforeRefresh` runs with the new secret before the cache is
 * refreshed: rotating one's own secret ends this console's token, so it signs in again first.
 */
export function useRotateSecret(accountId: string) {
  return useApiMutation(
    async (beforeRefresh: (secret: string) => Promise<unknown>) => {
      const res = await api<Envelope & { 'secret-key': string }>(`${accountPath(accountId)}/rotate-secret`, { method: 'POST' });
      await beforeRefresh(res['secret-key']);
      return res;
    },
    (qc) => accountChanged(qc),
  );
}
