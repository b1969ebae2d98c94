/** Webhook subscriptions (the admin routes act for a Data User) and their deliveries. */
import { queryOptions, useQuery, type QueryClient } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import { useApiMutation, usePagedList, useTablePage, type ListState, type MutationUi } from './hooks';
import { invalidate, queryKeys } from './keys';
import type { Delivery, Envelope, Webhook } from './types';

export type WebhookAnswer = Envelope & { webhook: Webhook; 'signing-secret'?: string };
export type TestAnswer = Envelope & {
  'event-id': string;
  'event-type': string;
  delivered: boolean;
  'status-code': number | null;
  'duration-ms': number;
  error: string | null;
  'response-body': string | null;
};

const webhookPath = (wid: string) => `/admin/webhooks/${encodeURIComponent(wid)}`;

export const webhookQueries = {
  ofDataUser: (duid: string) =>
    queryOptions({
      queryKey: queryKeys.webhooks.ofDataUser(duid),
      queryFn: ({ signal }) => api<Envelope & { webhooks: Webhook[] }>('/admin/webhooks', { query: { duid }, signal }),
    }),
  undelivered: () =>
    queryOptions({
      queryKey: queryKeys.deliveries.undelivered,
      queryFn: ({ signal }) => api<Envelope & { deliveries: Delivery[] }>('/admin/deliveries', { query: { status: 'undelivered', limit: 5 }, signal }),
    }),
};

export function useWebhookList(duid: string) {
  return usePagedList<Webhook>(queryKeys.webhooks.list, '/admin/webhooks', 'webhooks', { duid: duid || undefined });
}

export function useDataUserWebhooks(duid: string) {
  return useQuery(webhookQueries.ofDataUser(duid));
}

export interface SubscriptionBody {
  'callback-url': string;
  'alert-email': string;
  'notify-days-before': number;
  'event-types': string[];
}

/** A new subscription for `duid`, or a change to `wid`'s (pause, resume, edit, a new signing secret). */
export interface SaveWebhook {
  wid?: string;
  duid?: string;
  body: Partial<SubscriptionBody> & { active?: boolean; 'rotate-secret'?: boolean };
}

/** Creates or changes a subscription (see SaveWebhook). */
export function useSaveWebhook(ui?: MutationUi<WebhookAnswer, SaveWebhook>) {
  return useApiMutation(
    ({ wid, duid, body }: SaveWebhook) => (wid ? api<WebhookAnswer>(webhookPath(wid), { method: 'PATCH', body }) : api<WebhookAnswer>('/admin/webhooks', { method: 'POST', body: { duid, ...body } })),
    (qc) => invalidate(qc, queryKeys.webhooks.all),
    ui,
  );
}

export function useDeleteWebhook() {
  return useApiMutation(
    (wid: string) => api(webhookPath(wid), { method: 'DELETE' }),
    (qc) => invalidate(qc, queryKeys.webhooks.all),
  );
}

/** A test event is sent once, now; nothing is queued, so nothing in the cache changes. */
export function useTestWebhook(wid: string) {
  return useApiMutation(
    (eventType: string) => api<TestAnswer>(`${webhookPath(wid)}/test`, { method: 'POST', body: { 'event-type': eventType } }),
    () => undefined,
  );
}

export function useDeliveryList(filters: Record<string, QueryValue>, state: ListState, refetchInterval: number) {
  return useTablePage<Delivery>(queryKeys.deliveries.list, '/admin/deliveries', 'deliveries', filters, state, { refetchInterval });
}

export function useUndeliveredWebhooks(refetchInterval: number) {
  return useQuery({ ...webhookQueries.undelivered(), refetchInterval });
}

const deliveriesChanged = (qc: QueryClient) => invalidate(qc, queryKeys.deliveries.all, queryKeys.stats);

export function useRedeliver(ui?: MutationUi<unknown, string>) {
  return useApiMutation((eventId: string) => api(`/admin/deliveries/${encodeURIComponent(eventId)}/redeliver`, { method: 'POST' }), deliveriesChanged, ui);
}

export function useRedeliverMatching() {
  return useApiMutation((body: Record<string, string>) => api<Envelope & { queued: number }>('/admin/deliveries/redeliver', { method: 'POST', body }), deliveriesChanged);
}
