/** The register's outbox: e-mail it sent or captured (sandbox), its raw source, retries. */
import { queryOptions, useQuery } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import { useApiMutation, usePagedList, type MutationUi } from './hooks';
import { invalidate, queryKeys } from './keys';
import type { Envelope, OutboxMessage } from './types';

export interface MessageSource {
  from: string;
  headers: { name: string; value: string }[];
  source: string;
}

const messagePath = (id: string | number) => `/admin/outbox/${encodeURIComponent(String(id))}`;

export const outboxQueries = {
  /** Headers and the raw RFC 822 source, composed by the register as SMTP carries them. */
  source: (id: string | number) => queryOptions({ queryKey: queryKeys.outbox.source(id), queryFn: ({ signal }) => api<Envelope & MessageSource>(`${messagePath(id)}/source`, { signal }), staleTime: Infinity }),
  forToken: (tokenRef: string) =>
    queryOptions({
      queryKey: queryKeys.outbox.forToken(tokenRef),
      queryFn: ({ signal }) => api<Envelope & { messages: OutboxMessage[] }>('/admin/outbox', { query: { ref: tokenRef, limit: 5 }, signal }),
    }),
};

export function useOutboxList(filters: Record<string, QueryValue>, refetchInterval: number) {
  return usePagedList<OutboxMessage>(queryKeys.outbox.list, '/admin/outbox', 'messages', filters, { refetchInterval });
}

export function useMessageSource(id: string | number, enabled: boolean) {
  return useQuery({ ...outboxQueries.source(id), enabled });
}

/** The magic-link message of a re-identification, polled until it has arrived. */
export function useTokenMail(tokenRef: string, enabled: boolean) {
  return useQuery({
    ...outboxQueries.forToken(tokenRef),
    enabled,
    refetchInterval: (q) => (q.state.data?.messages.some((m) => m.ref === tokenRef) ? false : 3000),
  });
}

export function useRetryMessage(id: string | number, ui?: MutationUi<unknown, void>) {
  return useApiMutation(
    () => api(`${messagePath(id)}/retry`, { method: 'POST' }),
    (qc) => invalidate(qc, queryKeys.outbox.all),
    ui,
  );
}

// Deleting waits for the list to refresh, so the message is gone when the screen says so.
export function useDeleteMessage() {
  return useApiMutation(
    (id: string | number) => api(messagePath(id), { method: 'DELETE' }),
    (qc) => qc.invalidateQueries({ queryKey: queryKeys.outbox.all }),
  );
}

export function useClearOutbox() {
  return useApiMutation(
    () => api<Envelope & { deleted: number }>('/admin/outbox', { method: 'DELETE' }),
    (qc) => qc.invalidateQueries({ queryKey: queryKeys.outbox.all }),
  );
}
