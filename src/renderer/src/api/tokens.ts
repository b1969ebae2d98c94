/** Re-identification tokens: the list, one token watched live, starting and cancelling. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import { useApiMutation, useTablePage, type ListState, type MutationUi } from './hooks';
import { invalidate, queryKeys } from './keys';
import type { Envelope, ReIdentifyResponse, Token } from './types';

const tokenPath = (tokenRef: string) => `/admin/reidentifications/${encodeURIComponent(tokenRef)}`;

export const tokenQueries = {
  detail: (tokenRef: string) => queryOptions({ queryKey: queryKeys.tokens.detail(tokenRef), queryFn: ({ signal }) => api<Envelope & { token: Token }>(tokenPath(tokenRef), { signal }) }),
  pending: () =>
    queryOptions({
      queryKey: queryKeys.tokens.pending,
      queryFn: ({ signal }) => api<Envelope & { tokens: Token[]; total?: number }>('/admin/reidentifications', { query: { status: 'pending', limit: 5 }, signal }),
    }),
};

export function useTokenList(filters: Record<string, QueryValue>, state: ListState, refetchInterval: number) {
  return useTablePage<Token>(queryKeys.tokens.list, '/admin/reidentifications', 'tokens', filters, state, { refetchInterval });
}

/** One token, polled every 2 s (also in the background) while the customer has not answered. */
export function useLiveToken(tokenRef: string) {
  return useQuery({
    ...tokenQueries.detail(tokenRef),
    refetchInterval: (q) => {
      const s = q.state.data?.token.status;
      return !s || s === 'pending' ? 2000 : false;
    },
    refetchIntervalInBackground: true,
  });
}

export function usePendingTokens(refetchInterval: number) {
  return useQuery({ ...tokenQueries.pending(), refetchInterval });
}

export interface StartReidentification {
  mpxn: string;
  method: string | null;
  'on-behalf-of': string | undefined;
  'redirect-url'?: string;
}

export function useStartReidentification(ui?: MutationUi<Envelope & ReIdentifyResponse, StartReidentification>) {
  return useApiMutation(
    (body: StartReidentification) => api<Envelope & ReIdentifyResponse>('/admin/reidentifications', { method: 'POST', body }),
    (qc) => invalidate(qc, queryKeys.tokens.all, queryKeys.stats),
    ui,
  );
}

export function useCancelToken() {
  return useApiMutation(
    (tokenRef: string) => api<Envelope & { token: Token }>(`${tokenPath(tokenRef)}/cancel`, { method: 'POST' }),
    (qc, res, tokenRef) => {
      qc.setQueryData(queryKeys.tokens.detail(tokenRef), (old: unknown) => ({ ...(old as object), token: res.token }));
      invalidate(qc, queryKeys.tokens.all, queryKeys.stats);
    },
  );
}
