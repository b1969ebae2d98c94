import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { api } from '../api/client';
import { usePagedList } from '../api/hooks';
import type { Account, Delivery, Envelope, Webhook } from '../api/types';
import { fmtDateTime, plural } from '../lib/format';
import { Link, useSearchParams } from '../lib/router';
import { Button, FilterSelect, SearchBox } from '../ui/controls';
import { Badge, EmptyState, StatusBadge } from '../ui/feedback';
import { Chips, JsonBlock, PageHeader, Panel, Tabs, Toolbar } from '../ui/layout';
import { ListView } from '../ui/table';
import { Relative, When } from '../ui/time';
import { useToast } from '../ui/toast';

const EVENT_TYPES = ['consent.expiring', 'tenancy.change', 'consent.withdrawal'];

export function WebhooksScreen() {
  const [params, setParams] = useSearchParams();
  const tab = params.get('tab') === 'deliveries' ? 'deliveries' : 'subscriptions';
  return (
    <>
      <PageHeader title="Webhooks" subtitle="Subscriptions data users hold, and every event the register tried to deliver to them (retried after 1 min, 5 min, 30 min, 2 h and 24 h)." />
      <Tabs
        label="Webhooks"
        value={tab}
        onChange={(id) => setParams({ tab: id === 'subscriptions' ? null : id })}
        tabs={[
          { id: 'subscriptions', label: 'Subscriptions' },
          { id: 'deliveries', label: 'Deliveries' },
        ]}
      />
      {tab === 'subscriptions' ? <Subscriptions /> : <Deliveries />}
    </>
  );
}

function useDuidNames(): Map<string, string> {
  const q = useQuery({
    queryKey: ['accounts', 'names', 'data_user'],
    queryFn: ({ signal }) => api<Envelope & { accounts: Account[] }>('/admin/accounts', { query: { role: 'data_user', limit: 500 }, signal }),
    staleTime: 60_000,
  });
  return new Map((q.data?.accounts ?? []).map((a) => [a.duid, a['display-name']]));
}

function Subscriptions() {
  const [params, setParams] = useSearchParams();
  const duid = params.get('duid') ?? '';
  const names = useDuidNames();
  const list = usePagedList<Webhook>(['webhooks', 'list'], '/admin/webhooks', 'webhooks', { duid: duid || undefined });
  return (
    <Panel flush>
      <Toolbar end={list.total !== null && <span className="muted small">{plural(list.total, 'subscription')} · newest first</span>}>
        <SearchBox label="Data user (DUID)" value={duid} onSearch={(v) => setParams({ duid: v })} placeholder="duid_…" width={320} />
      </Toolbar>
      <ListView
        list={list}
        noun="subscriptions"
        rowKey={(w) => w.wid}
        caption="Webhook subscriptions"
        columns={[
          {
            key: 'du',
            header: 'Data user',
            render: (w) => (
              <div className="cell-stack">
                <Link to={`/data-users/${encodeURIComponent(w.duid)}`}>{names.get(w.duid) ?? w.duid}</Link>
                <span className="cell-sub mono-sm">{w.wid}</span>
              </div>
            ),
          },
          { key: 'url', header: 'Callback URL', render: (w) => <code className="mono-sm break">{w['callback-url']}</code> },
          { key: 'events', header: 'Events', render: (w) => <Chips values={w['event-types']} /> },
          { key: 'days', header: 'Notice', align: 'right', render: (w) => <span className="nowrap">{w['notify-days-before']} d</span> },
          { key: 'alert', header: 'Alert e-mail', render: (w) => w['alert-email'] ?? <span className="muted">—</span> },
          { key: 'state', header: 'State', render: (w) => (w.active ? <Badge tone="green" dot>Active</Badge> : <Badge tone="grey" dot>Inactive</Badge>) },
          { key: 'created', header: 'Created', render: (w) => <Relative iso={w['created-at']} /> },
          {
            key: 'go',
            header: '',
            align: 'right',
            render: (w) => (
              <Button size="sm" variant="ghost" onClick={() => setParams({ tab: 'deliveries', wid: w.wid, duid: null })}>
                Deliveries
              </Button>
            ),
          },
        ]}
        empty={
          <EmptyState icon="webhook" title={duid ? 'This data user has no subscriptions' : 'No webhook subscriptions'}>
            Data users subscribe through the API (<code>POST /v1/webhooks</code>) to hear about expiring consent, withdrawals and changes of tenancy.
          </EmptyState>
        }
      />
    </Panel>
  );
}

function Deliveries() {
  const qc = useQueryClient();
  const toast = useToast();
  const [params, setParams] = useSearchParams();
  const wid = params.get('wid') ?? '';
  const status = params.get('status') ?? '';
  const eventType = params.get('event-type') ?? '';
  const names = useDuidNames();
  const list = usePagedList<Delivery>(['deliveries', 'list'], '/admin/deliveries', 'deliveries', { wid: wid || undefined, status: status || undefined, 'event-type': eventType || undefined }, { refetchInterval: 10_000 });
  const [redelivering, setRedelivering] = useState<string | null>(null);
  const redeliver = useMutation({
    mutationFn: (eventId: string) => api(`/admin/deliveries/${encodeURIComponent(eventId)}/redeliver`, { method: 'POST' }),
    onMutate: (id) => setRedelivering(id),
    onSettled: () => setRedelivering(null),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['deliveries'] });
      void qc.invalidateQueries({ queryKey: ['stats'] });
      toast('Queued for delivery now');
    },
    onError: (err) => toast(`Redeliver failed: ${(err as Error).message}`, 'red'),
  });

  return (
    <Panel flush>
      <Toolbar end={list.total !== null && <span className="muted small">{plural(list.total, 'event')} · newest first</span>}>
        <FilterSelect
          label="Status"
          value={status}
          onChange={(v) => setParams({ status: v })}
          options={[
            { value: '', label: 'Any status' },
            { value: 'pending', label: 'Pending / retrying' },
            { value: 'delivered', label: 'Delivered' },
            { value: 'undelivered', label: 'Undelivered' },
          ]}
        />
        <FilterSelect label="Event" value={eventType} onChange={(v) => setParams({ 'event-type': v })} options={[{ value: '', label: 'Any event' }, ...EVENT_TYPES.map((e) => ({ value: e, label: e }))]} />
        <SearchBox label="Subscription" value={wid} onSearch={(v) => setParams({ wid: v })} placeholder="wid_…" width={280} />
      </Toolbar>
      <ListView
        list={list}
        noun="events"
        caption="Webhook deliveries"
        rowKey={(d) => d['event-id']}
        columns={[
          {
            key: 'event',
            header: 'Event',
            render: (d) => (
              <div className="cell-stack">
                <code>{d['event-type']}</code>
                <span className="cell-sub mono-sm">{d['event-id']}</span>
              </div>
            ),
          },
          { key: 'du', header: 'Data user', render: (d) => names.get(d.duid) ?? <code className="mono-sm">{d.duid}</code> },
          { key: 'status', header: 'Status', render: (d) => <StatusBadge status={d.status} /> },
          { key: 'attempts', header: 'Attempts', align: 'right', render: (d) => d.attempts },
          { key: 'code', header: 'Last answer', render: (d) => (d['last-status-code'] ? `HTTP ${d['last-status-code']}` : d['last-error'] ? <span className="text-red small">{d['last-error']}</span> : <span className="muted">—</span>) },
          { key: 'next', header: 'Next attempt', render: (d) => (d.status === 'pending' && d['next-attempt-at'] ? <Relative iso={d['next-attempt-at']} /> : <span className="muted">—</span>) },
          { key: 'occurred', header: 'Occurred', render: (d) => <Relative iso={d['occurred-at']} /> },
          {
            key: 'redeliver',
            header: '',
            align: 'right',
            render: (d) =>
              d.status !== 'pending' || d.attempts > 0 ? (
                <Button size="sm" variant="ghost" icon="refresh" busy={redelivering === d['event-id']} onClick={() => redeliver.mutate(d['event-id'])}>
                  Redeliver
                </Button>
              ) : null,
          },
        ]}
        expand={(d) => (
          <div className="delivery-detail">
            <div>
              <h3 className="sub-title">Attempts</h3>
              {d['attempt-log']?.length ? (
                <table className="table table-dense table-inner">
                  <thead>
                    <tr>
                      <th>#</th>
                      <th>At</th>
                      <th>Answer</th>
                      <th>Time</th>
                      <th>Error</th>
                    </tr>
                  </thead>
                  <tbody>
                    {d['attempt-log'].map((a) => (
                      <tr key={a.attempt}>
                        <td>{a.attempt}</td>
                        <td className="nowrap">{fmtDateTime(a.at)}</td>
                        <td>{a['status-code'] ? <Badge tone={a['status-code'] < 300 ? 'green' : 'red'}>HTTP {a['status-code']}</Badge> : <span className="muted">—</span>}</td>
                        <td>{a['duration-ms'] !== null ? `${a['duration-ms']} ms` : '—'}</td>
                        <td className="small">{a.error ?? ''}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              ) : (
                <p className="muted small">Not attempted yet.</p>
              )}
              <p className="muted small">
                Delivered: <When iso={d['delivered-at']} /> · subscription <code>{d.wid}</code>
              </p>
            </div>
            <div>
              <h3 className="sub-title">Payload</h3>
              <JsonBlock value={d.payload} />
            </div>
          </div>
        )}
        empty={
          <EmptyState icon="webhook" title={status || eventType || wid ? 'No deliveries match' : 'No webhook events yet'}>
            Events are queued when consent is withdrawn, nears expiry, or a change of tenancy is reported for a meter point with active records.
          </EmptyState>
        }
      />
    </Panel>
  );
}
