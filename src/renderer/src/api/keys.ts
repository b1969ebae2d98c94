/**
 * The one place the console spells its query keys. Keys are arrays whose first element
 * names the feature, so invalidating `queryKeys.records.all` refreshes every list, detail
 * and panel built from access records.
 */
import type { QueryClient, QueryKey } from '@tanstack/react-query';

export const queryKeys = {
  settings: ['settings'] as const,
  stats: ['stats'] as const,
  clock: ['clock'] as const,
  snapshots: ['snapshots'] as const,
  accounts: {
    all: ['accounts'] as const,
    list: (role: string) => ['accounts', 'list', role] as const,
    detail: (accountId: string) => ['accounts', 'detail', accountId] as const,
    byDuid: (duid: string) => ['accounts', 'by-duid', duid] as const,
    names: (role: string) => ['accounts', 'names', role] as const,
    picker: (roles: readonly string[], term: string, onlyActive: boolean) => ['accounts', 'picker', roles, term, onlyActive] as const,
    directory: (duid: string) => ['accounts', 'directory', duid] as const,
  },
  records: {
    all: ['records'] as const,
    list: ['records', 'list'] as const,
    detail: (ak: string) => ['records', 'detail', ak] as const,
    ownedBy: (duid: string) => ['records', 'owned', duid] as const,
  },
  identity: {
    all: ['identity'] as const,
    list: ['identity', 'list'] as const,
    detail: (ir: string, revealed: boolean) => ['identity', 'detail', ir, revealed] as const,
  },
  desk: {
    exists: (mpxn: string) => ['desk', 'exists', mpxn] as const,
    holders: (mpxn: string) => ['desk', 'holders', mpxn] as const,
  },
  tokens: {
    all: ['tokens'] as const,
    list: ['tokens', 'list'] as const,
    detail: (tokenRef: string) => ['tokens', 'detail', tokenRef] as const,
    pending: ['tokens', 'overview'] as const,
  },
  webhooks: {
    all: ['webhooks'] as const,
    list: ['webhooks', 'list'] as const,
    ofDataUser: (duid: string) => ['webhooks', 'data-user', duid] as const,
  },
  deliveries: {
    all: ['deliveries'] as const,
    list: ['deliveries', 'list'] as const,
    undelivered: ['deliveries', 'overview'] as const,
  },
  outbox: {
    all: ['outbox'] as const,
    list: ['outbox', 'list'] as const,
    source: (id: string | number) => ['outbox', 'source', id] as const,
    forToken: (tokenRef: string) => ['outbox', 'for-token', tokenRef] as const,
  },
  audit: {
    all: ['audit'] as const,
    list: ['audit', 'list'] as const,
    verify: ['audit', 'verify'] as const,
    recent: ['audit', 'recent'] as const,
    ofAccount: (accountId: string) => ['audit', 'account', accountId] as const,
  },
  discovered: {
    all: ['discovered'] as const,
    list: ['discovered', 'list'] as const,
  },
};

/** Marks these keys (and every key under them) stale; lists on screen refetch. */
export function invalidate(qc: QueryClient, ...keys: QueryKey[]): void {
  for (const queryKey of keys) void qc.invalidateQueries({ queryKey });
}

/** Everything the console holds: after the register's whole state or clock changed. */
export function invalidateEverything(qc: QueryClient): void {
  void qc.invalidateQueries();
}
