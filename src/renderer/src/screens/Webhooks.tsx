import { Fragment, useEffect, useState } from 'react';
import { useDataUser, useDataUserNames } from '../api/accounts';
import type { Webhook } from '../api/types';
import { useDeleteWebhook, useDeliveryList, useRedeliver, useRedeliverMatching, useSaveWebhook, useTestWebhook, useWebhookList, type WebhookAnswer } from '../api/webhooks';
import { fmtDateTime, fmtNumber, plural } from '../lib/format';
import { Link, useSearchParams } from '../lib/router';
import { Button, Checkbox, FilterSelect, SearchBox, SelectField, TextField } from '../ui/controls';
import { ConfirmDialog, Dialog, SecretDialog } from '../ui/dialog';
import { Badge, EmptyState, ErrorNotice, Notice, StatusBadge, statusOptions } from '../ui/feedback';
import { Chips, JsonBlock, PageHeader, Panel, Tabs, Toolbar } from '../ui/layout';
import { ListView, PagedTable } from '../ui/table';
import { DateRangeFilter, foundCount, StreamExportDialog, useListScreen } from '../ui/listing';
import { DataUserFilter } from '../ui/picker';
import { Relative, When } from '../ui/time';
import { useToast } from '../ui/toast';
import { DELIVERY_STATUSES, WEBHOOK_EVENT_TYPES } from '../../../shared/vocabulary';

const headerText = (h: Record<string, string> | null | undefined) =>
  h
    ? Object.entries(h)
        .map(([k, v]) => `${k}: ${v}`)
        .join('\n')
    : '—';

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

const TEST_TYPES = ['webhook.test', ...WEBHOOK_EVENT_TYPES];

/** Create or edit a chosen Data User's subscription (the admin routes act for it). */
function SubscriptionDialog({ duid, name, editing, onClose, onSaved }: { duid: string; name: string; editing: Webhook | null; onClose: () => void; onSaved: (a: WebhookAnswer) => void }) {
  const [url, setUrl] = useState(editing?.['callback-url'] ?? '');
  const [email, setEmail] = useState(editing?.['alert-email'] ?? '');
  const [days, setDays] = useState(String(editing?.['notify-days-before'] ?? 30));
  const [types, setTypes] = useState<string[]>(editing?.['event-types'] ?? [...WEBHOOK_EVENT_TYPES]);
  const save = useSaveWebhook({ onSuccess: onSaved });
  return (
    <Dialog
      open
      onClose={onClose}
      title={editing ? `Edit subscription ${editing.wid}` : `New subscription for ${name}`}
      onSubmit={(e) => {
        e.preventDefault();
        save.mutate({ wid: editing?.wid, duid, body: { 'callback-url': url.trim(), 'alert-email': email.trim(), 'notify-days-before': Number(days), 'event-types': types } });
      }}
      footer={
        <>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="primary" busy={save.isPending} disabled={!url || !email || types.length === 0}>
            {editing ? 'Save changes' : 'Create subscription'}
          </Button>
        </>
      }
    >
      <div className="stack">
        <TextField label="Callback URL" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://…" required />
        <TextField label="Alert e-mail" type="email" value={email} onChange={(e) => setEmail(e.target.value)} required hint="Told when an event cannot be delivered after every retry" />
        <TextField label="consent.expiring notice (days before expiry)" type="number" min={1} max={90} value={days} onChange={(e) => setDays(e.target.value)} />
        <div role="group" aria-label="Event types">
          {WEBHOOK_EVENT_TYPES.map((t) => (
            <Checkbox key={t} label={<code>{t}</code>} checked={types.includes(t)} onChange={(on) => setTypes(on ? WEBHOOK_EVENT_TYPES.filter((x) => x === t || types.includes(x)) : types.filter((x) => x !== t))} />
          ))}
        </div>
        {save.error ? <ErrorNotice error={save.error} /> : null}
      </div>
    </Dialog>
  );
}

/** Send a test event of a chosen type now and show what the receiver answered. */
function TestEventDialog({ webhook, onClose }: { webhook: Webhook; onClose: () => void }) {
  const [type, setType] = useState('webhook.test');
  const send = useTestWebhook(webhook.wid);
  const r = send.data;
  return (
    <Dialog
      open
      onClose={onClose}
      title="Send a test event"
      description={<code className="mono-sm break">{webhook['callback-url']}</code>}
      onSubmit={(e) => {
        e.preventDefault();
        send.mutate(type);
      }}
      footer={
        <>
          <Button onClick={onClose}>Close</Button>
          <Button type="submit" variant="primary" icon="webhook" busy={send.isPending}>
            Send test event
          </Button>
        </>
      }
    >
      <div className="stack">
        <SelectField label="Event type" value={type} onChange={(e) => setType(e.target.value)}>
          {TEST_TYPES.map((t) => (
            <option key={t} value={t}>
              {t}
            </option>
          ))}
        </SelectField>
        <p className="muted small">Signed exactly like a real delivery, with a sample payload and the header X-DAR-Test: true. It is sent once, now; never queued or retried.</p>
        {r && (
          <Notice tone={r.delivered ? 'green' : 'red'} title={r.delivered ? 'Delivered' : 'Not delivered'}>
            <span data-testid="test-result">
              {r['status-code'] ? `HTTP ${r['status-code']}` : 'No HTTP response'} in {r['duration-ms']} ms{r.error ? ` — ${r.error}` : ''} · event <code>{r['event-id']}</code>
            </span>
          </Notice>
        )}
        {send.error ? <ErrorNotice error={send.error} /> : null}
      </div>
    </Dialog>
  );
}

function Subscriptions() {
  const toast = useToast();
  const [params, setParams] = useSearchParams();
  const duid = params.get('duid') ?? '';
  const names = useDataUserNames();
  const list = useWebhookList(duid);
  const [dialog, setDialog] = useState<{ kind: 'create' } | { kind: 'edit' | 'test' | 'rotate' | 'delete'; webhook: Webhook } | null>(null);
  const [secret, setSecret] = useState<{ wid: string; secret: string } | null>(null);
  const pause = useSaveWebhook({
    onSuccess: (a) => {
      toast(a.webhook.active ? 'Subscription resumed' : 'Subscription paused: its events wait until it is resumed');
    },
    onError: (err) => toast(`Could not change the subscription: ${(err as Error).message}`, 'red'),
  });
  const rotate = useSaveWebhook();
  const remove = useDeleteWebhook();
  const duidOptions = [...names.entries()].sort((a, b) => a[1].localeCompare(b[1]));
  return (
    <Panel flush>
      <Toolbar end={list.total !== null && <span className="muted small">{plural(list.total, 'subscription')} · newest first</span>}>
        <FilterSelect label="Data user" value={duid} onChange={(v) => setParams({ duid: v })} options={[{ value: '', label: 'All data users' }, ...duidOptions.map(([d, n]) => ({ value: d, label: n }))]} />
        <Button variant="primary" icon="plus" disabled={!duid} title={duid ? undefined : 'Choose a data user first'} onClick={() => setDialog({ kind: 'create' })}>
          New subscription
        </Button>
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
                <span className="cell-sub mono-sm cell-truncate" title={w.wid}>
                  {w.wid}
                </span>
              </div>
            ),
          },
          {
            key: 'state',
            header: 'State',
            render: (w) =>
              w.active ? (
                <Badge tone="green" dot>
                  Active
                </Badge>
              ) : (
                <Badge tone="grey" dot>
                  Paused
                </Badge>
              ),
          },
          {
            key: 'url',
            header: 'Callback URL',
            render: (w) => (
              <code className="mono-sm cell-truncate url-cell" title={w['callback-url']}>
                {w['callback-url']}
              </code>
            ),
          },
          // Below 1180 px the details give way, so State and the actions stay beside the row.
          { key: 'events', header: 'Events', className: 'col-wide-only', render: (w) => <Chips values={w['event-types']} /> },
          { key: 'days', header: 'Notice', align: 'right', className: 'col-wide-only', render: (w) => <span className="nowrap">{w['notify-days-before']} d</span> },
          { key: 'created', header: 'Created', className: 'col-wide-only', render: (w) => <Relative iso={w['created-at']} /> },
          {
            key: 'go',
            header: '',
            align: 'right',
            render: (w) => (
              <div className="row-actions row-actions-grid">
                <Button size="sm" variant="ghost" onClick={() => setDialog({ kind: 'test', webhook: w })}>
                  Test
                </Button>
                <Button size="sm" variant="ghost" onClick={() => setDialog({ kind: 'edit', webhook: w })}>
                  Edit
                </Button>
                <Button size="sm" variant="ghost" busy={pause.isPending && pause.variables?.wid === w.wid} onClick={() => pause.mutate({ wid: w.wid, body: { active: !w.active } })}>
                  {w.active ? 'Pause' : 'Resume'}
                </Button>
                <Button size="sm" variant="ghost" onClick={() => setDialog({ kind: 'rotate', webhook: w })}>
                  Rotate
                </Button>
                <Button size="sm" variant="ghost" onClick={() => setDialog({ kind: 'delete', webhook: w })}>
                  Delete
                </Button>
                <Button size="sm" variant="ghost" onClick={() => setParams({ tab: 'deliveries', wid: w.wid, duid: null })}>
                  Deliveries
                </Button>
              </div>
            ),
          },
        ]}
        empty={
          <EmptyState icon="webhook" title={duid ? 'This data user has no subscriptions' : 'No webhook subscriptions'}>
            Data users subscribe through the API (<code>POST /v1/webhooks</code>); choose a data user above to create one for them.
          </EmptyState>
        }
      />
      {dialog?.kind === 'create' || dialog?.kind === 'edit' ? (
        <SubscriptionDialog
          duid={duid}
          name={names.get(duid) ?? duid}
          editing={dialog.kind === 'edit' ? dialog.webhook : null}
          onClose={() => setDialog(null)}
          onSaved={(a) => {
            setDialog(null);
            if (a['signing-secret']) setSecret({ wid: a.webhook.wid, secret: a['signing-secret'] });
            else toast('Subscription saved');
          }}
        />
      ) : null}
      {dialog?.kind === 'test' && <TestEventDialog webhook={dialog.webhook} onClose={() => setDialog(null)} />}
      <ConfirmDialog
        open={dialog?.kind === 'rotate'}
        onClose={() => setDialog(null)}
        title="Rotate the signing secret?"
        confirmLabel="Rotate secret"
        onConfirm={async () => {
          const w = (dialog as { webhook: Webhook }).webhook;
          const a = await rotate.mutateAsync({ wid: w.wid, body: { 'rotate-secret': true } });
          if (a['signing-secret']) setSecret({ wid: w.wid, secret: a['signing-secret'] });
        }}
      >
        <p>A new secret signs deliveries from now on. For 15 minutes X-DAR-Signature stays under the old secret and X-DAR-Signature-New carries the new one, so the receiver can switch over.</p>
      </ConfirmDialog>
      <ConfirmDialog
        open={dialog?.kind === 'delete'}
        onClose={() => setDialog(null)}
        title="Delete this subscription?"
        tone="danger"
        confirmLabel="Delete subscription"
        onConfirm={async () => {
          const w = (dialog as { webhook: Webhook }).webhook;
          await remove.mutateAsync(w.wid);
          toast('Subscription deleted');
        }}
      >
        <p>Deliveries stop at once; its queued events are closed as undelivered.</p>
      </ConfirmDialog>
      {secret && (
        <SecretDialog
          open
          title="Signing secret"
          accountId={secret.wid}
          secret={secret.secret}
          onClose={() => setSecret(null)}
          labels={{ id: 'Subscription', secret: 'Signing secret', notice: 'Copy this signing secret now and hand it to the data user over a secure channel. It is shown once; if it is lost, rotate it.' }}
        />
      )}
    </Panel>
  );
}

function Deliveries() {
  const toast = useToast();
  const view = useListScreen();
  const { param, filter } = view;
  const wid = param('wid');
  const status = param('status');
  const eventType = param('event-type');
  const duid = param('duid');
  const from = param('from');
  const to = param('to');
  const dataUser = useDataUser(duid);
  const [exporting, setExporting] = useState(false);
  // After a redelivery the new attempt shows up by itself: poll every second for a while.
  const [fastUntil, setFastUntil] = useState(0);
  const fast = Date.now() < fastUntil;
  const filters = { wid: wid || undefined, duid: duid || undefined, status: status || undefined, 'event-type': eventType || undefined, from: from || undefined, to: to || undefined };
  const list = useDeliveryList(filters, view.state, fast ? 1000 : 10_000);
  useEffect(() => {
    if (!fastUntil) return;
    const t = setTimeout(() => setFastUntil(0), Math.max(0, fastUntil - Date.now()));
    return () => clearTimeout(t);
  }, [fastUntil]);
  const [redelivering, setRedelivering] = useState<string | null>(null);
  const [bulk, setBulk] = useState(false);
  const filtered = Boolean(wid || eventType || (status && status !== 'pending'));
  const redeliverMatching = useRedeliverMatching();
  const redeliver = useRedeliver({
    onMutate: (id) => setRedelivering(id),
    onSettled: () => setRedelivering(null),
    onSuccess: () => {
      setFastUntil(Date.now() + 15_000);
      toast('Queued for delivery now');
    },
    onError: (err) => toast(`Redeliver failed: ${(err as Error).message}`, 'red'),
  });

  return (
    <Panel flush>
      <Toolbar end={foundCount(list.total)}>
        <FilterSelect label="Status" {...view.select('status')} options={statusOptions(DELIVERY_STATUSES, 'Any status', { pending: 'Pending / retrying' })} />
        <FilterSelect label="Event" {...view.select('event-type')} options={[{ value: '', label: 'Any event' }, ...WEBHOOK_EVENT_TYPES.map((e) => ({ value: e, label: e }))]} />
        <DataUserFilter duid={duid} dataUser={dataUser} onChange={(d) => filter({ duid: d })} />
        <DateRangeFilter label="Created" from={from} to={to} onChange={(f, t) => filter({ from: f, to: t })} />
        <SearchBox label="Subscription" {...view.search('wid')} placeholder="wid_…" width={220} />
        <Button icon="download" onClick={() => setExporting(true)} disabled={list.total === 0}>
          Export CSV
        </Button>
        <Button icon="refresh" disabled={!filtered} title={filtered ? undefined : 'Filter by subscription, event or a delivered/undelivered status first'} onClick={() => setBulk(true)}>
          Redeliver matching
        </Button>
      </Toolbar>
      <ConfirmDialog
        open={bulk}
        onClose={() => setBulk(false)}
        title="Redeliver every matching event?"
        confirmLabel="Redeliver"
        onConfirm={async () => {
          const body = { ...(wid ? { wid } : {}), ...(eventType ? { 'event-type': eventType } : {}), ...(status && status !== 'pending' ? { status } : {}) };
          const res = await redeliverMatching.mutateAsync(body);
          setFastUntil(Date.now() + 15_000);
          toast(`${plural(res.queued, 'event')} queued for delivery now`);
        }}
      >
        <p>Every event matching the current filter that is not already pending is queued again now, with its own event-id and a fresh retry schedule (at most 1000 per click).</p>
      </ConfirmDialog>
      <PagedTable
        page={list}
        noun="events"
        caption="Webhook deliveries"
        rowKey={(d) => d['event-id']}
        sort={view.sort}
        controls={view.controls(list, 'events')}
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
          // Status, the Redeliver action and the next attempt come right after the event, so
          // they stay in view on narrow screens (1024×768).
          { key: 'status', header: 'Status', sortKey: 'status', className: 'col-key', render: (d) => <StatusBadge status={d.status} /> },
          {
            key: 'redeliver',
            header: '',
            className: 'col-key',
            render: (d) =>
              d.status !== 'pending' || d.attempts > 0 ? (
                <Button size="sm" variant="ghost" icon="refresh" busy={redelivering === d['event-id']} aria-label={`Redeliver ${d['event-id']}`} onClick={() => redeliver.mutate(d['event-id'])}>
                  Redeliver
                </Button>
              ) : null,
          },
          {
            key: 'next',
            header: 'Next attempt',
            sortKey: 'next-attempt',
            className: 'nowrap col-key',
            render: (d) => (d.status === 'pending' && d['next-attempt-at'] ? <Relative iso={d['next-attempt-at']} /> : <span className="muted">—</span>),
          },
          { key: 'du', header: 'Data User', render: (d) => d['data-user-name'] ?? <code className="mono-sm">{d.duid}</code> },
          { key: 'attempts', header: 'Attempts', align: 'right', render: (d) => d.attempts },
          { key: 'code', header: 'Last answer', render: (d) => (d['last-status-code'] ? `HTTP ${d['last-status-code']}` : d['last-error'] ? <span className="text-red small">{d['last-error']}</span> : <span className="muted">—</span>) },
          { key: 'occurred', header: 'Created', sortKey: 'created', firstOrder: 'desc', className: 'nowrap', render: (d) => <Relative iso={d['occurred-at']} /> },
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
                      <Fragment key={a.attempt}>
                        <tr>
                          <td>{a.attempt}</td>
                          <td className="nowrap">{fmtDateTime(a.at)}</td>
                          <td>{a['status-code'] ? <Badge tone={a['status-code'] < 300 ? 'green' : 'red'}>HTTP {a['status-code']}</Badge> : <span className="muted">—</span>}</td>
                          <td>{a['duration-ms'] !== null ? `${a['duration-ms']} ms` : '—'}</td>
                          <td className="small">{a.error ?? ''}</td>
                        </tr>
                        {a['request-headers'] || a['response-headers'] ? (
                          <tr>
                            <td colSpan={5}>
                              <details className="attempt-inspect" data-testid="attempt-inspect">
                                <summary className="small">Request and response of attempt {a.attempt}</summary>
                                <div className="attempt-inspect-grid">
                                  <div>
                                    <h4 className="small">Request headers (as sent)</h4>
                                    <pre className="json attempt-pre">{headerText(a['request-headers'])}</pre>
                                  </div>
                                  <div>
                                    <h4 className="small">Response headers</h4>
                                    <pre className="json attempt-pre">{a['response-headers'] ? headerText(a['response-headers']) : 'No response'}</pre>
                                    <h4 className="small">Response body (first 4 KiB)</h4>
                                    <pre className="json attempt-pre">{a['response-body'] ?? '—'}</pre>
                                  </div>
                                </div>
                              </details>
                            </td>
                          </tr>
                        ) : null}
                      </Fragment>
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
          <EmptyState icon="webhook" title={status || eventType || wid || duid || from || to ? 'No deliveries match' : 'No webhook events yet'}>
            Events are queued when consent is withdrawn, nears expiry, or a change of tenancy is reported for a meter point with active records.
          </EmptyState>
        }
      />
      <StreamExportDialog
        open={exporting}
        onClose={() => setExporting(false)}
        path="/admin/deliveries/export.csv"
        query={view.exportQuery(filters)}
        noun="deliveries"
        filename="dar-webhook-deliveries"
        describe={`${list.total !== null ? fmtNumber(list.total) : 'All'} deliveries${status || eventType || wid || duid || from || to ? ' matching the current filters' : ''}${dataUser ? ` to ${dataUser['display-name']}` : ''}, in the order shown.`}
      />
    </Panel>
  );
}
