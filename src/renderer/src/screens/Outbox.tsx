import { useMemo, useState } from 'react';
import { MAIL_STATUSES } from '../../../shared/vocabulary';
import { useClearOutbox, useDeleteMessage, useMessageSource, useOutboxList, useRetryMessage } from '../api/outbox';
import { useMode, useSettings } from '../api/register';
import type { OutboxMessage } from '../api/types';
import { plural } from '../lib/format';
import { relinkToOrigin } from '../../../shared/relink';
import { useSearchParams } from '../lib/router';
import { Button, FilterSelect, SearchBox } from '../ui/controls';
import { ConfirmDialog } from '../ui/dialog';
import { useToast } from '../ui/toast';
import { EmptyState, ErrorNotice, LiveDot, Notice, registerAnswering, Spinner, StatusBadge, statusOptions } from '../ui/feedback';
import { Icon } from '../ui/icons';
import { KeyValue, PageHeader, Panel, Tabs } from '../ui/layout';
import { Relative, When } from '../ui/time';

/** Renders a message's HTML with no scripts; links open in a new tab (sandbox) or not at all. */
function srcdocFor(html: string, linksLive: boolean): string {
  const head = `<base target="_blank"><meta name="referrer" content="no-referrer"><style>body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;margin:16px;line-height:1.5}${linksLive ? '' : 'a{pointer-events:none;color:#5d6878}'}</style>`;
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (m) => `${m}${head}`) : `${head}${html}`;
}

/**
 * Links in a message name the register's public origin (--origin). The console may talk to
 * the register on another address (another port, 127.0.0.1 for localhost): in a sandbox the
 * preview opens them on the register the console talks to, which accepts its own loopback
 * address for the customer pages.
 */
function onThisRegister(publicOrigin: string | undefined) {
  const here = window.location.origin;
  if (!publicOrigin || publicOrigin === here || !/^https?:/.test(here)) return (s: string) => s;
  return (s: string) => relinkToOrigin(s, publicOrigin, here);
}

/** How often the list is polled: new mail shows up on its own ("Live", as on the desk). */
const LIVE_MS = 2000;

export function OutboxScreen() {
  const [params, setParams] = useSearchParams();
  const mode = useMode();
  const sandbox = mode === 'sandbox';
  const toast = useToast();
  const settings = useSettings();
  const clear = useClearOutbox();
  const status = params.get('status') ?? '';
  const q = sandbox ? (params.get('q') ?? '') : '';
  const list = useOutboxList({ status: status || undefined, q: q || undefined }, LIVE_MS);
  const selectedId = params.get('id');
  const selected = useMemo(() => list.items.find((m) => String(m.id) === selectedId) ?? list.items[0] ?? null, [list.items, selectedId]);
  const [clearing, setClearing] = useState(false);
  const relink = sandbox ? onThisRegister(settings.data?.origin) : (s: string) => s;

  return (
    <>
      <PageHeader
        title="Outbox"
        subtitle="E-mails the register sent or captured: magic links to customers and delivery alerts to data users. Newest first."
        meta={<LiveDot label={`Live · refreshes every ${LIVE_MS / 1000} s`} connected={registerAnswering(list.failureReason)} />}
        actions={
          sandbox && (
            <Button variant="danger" icon="trash" onClick={() => setClearing(true)} disabled={list.total === 0}>
              Delete all
            </Button>
          )
        }
      />
      <ConfirmDialog
        open={clearing}
        onClose={() => setClearing(false)}
        title="Delete every message in the outbox?"
        confirmLabel="Delete all"
        tone="danger"
        onConfirm={async () => {
          const res = await clear.mutateAsync();
          setParams({ id: null });
          toast(`Deleted ${plural(res.deleted, 'message')}`);
        }}
      >
        <p>The sandbox outbox is emptied. Links in deleted messages keep working until their tokens expire.</p>
      </ConfirmDialog>
      {!sandbox && mode && (
        <Notice tone="amber" title="Production register">
          These messages went to real customers. Links are shown but cannot be opened from here: opening a magic link would act for the customer.
        </Notice>
      )}
      <div className="toolbar-bare">
        {sandbox && <SearchBox label="Search messages" placeholder="Recipient, subject or text" value={q} onSearch={(v) => setParams({ q: v || null, id: null })} width={300} />}
        <FilterSelect label="Delivery" value={status} onChange={(v) => setParams({ status: v, id: null })} options={statusOptions(MAIL_STATUSES, 'All messages', { captured: 'Captured (no SMTP)' })} />
        {list.total !== null && <span className="muted small">{plural(list.total, 'message')} · newest first</span>}
      </div>
      {list.isLoading ? (
        <Spinner label="Loading messages…" />
      ) : list.error && !list.loaded ? (
        <ErrorNotice error={list.error} onRetry={list.refetch} />
      ) : list.items.length === 0 ? (
        <EmptyState icon="mail" title={q ? `No messages match “${q}”` : status ? 'No messages in this state' : 'No e-mail yet'}>
          Messages appear here when the register e-mails a customer (magic-link re-identification) or alerts a data user about failed webhook deliveries.
        </EmptyState>
      ) : (
        <div className="mail">
          <Panel flush className="mail-list-panel">
            <ul className="mail-list" aria-label="Messages">
              {list.items.map((m) => {
                const active = selected && String(selected.id) === String(m.id);
                return (
                  <li key={String(m.id)}>
                    <button type="button" className={`mail-item${active ? ' is-active' : ''}`} aria-current={active || undefined} onClick={() => setParams({ id: String(m.id) })}>
                      <span className="mail-item-top">
                        <span className="mail-to">{m.to}</span>
                        <span className="mail-when">
                          <Relative iso={m['created-at']} />
                        </span>
                      </span>
                      <span className="mail-subject">{m.subject}</span>
                      {m.links.length > 0 && (
                        <span className="mail-links-count">
                          <Icon name="link" size={12} /> {m.links.length} link{m.links.length === 1 ? '' : 's'}
                        </span>
                      )}
                    </button>
                  </li>
                );
              })}
            </ul>
            {list.hasMore && (
              <div className="mail-more">
                <Button size="sm" onClick={list.loadMore} busy={list.loadingMore}>
                  Load older
                </Button>
              </div>
            )}
          </Panel>
          {selected && <MessageView key={String(selected.id)} m={selected} linksLive={sandbox} relink={relink} />}
        </div>
      )}
    </>
  );
}

const PURPOSE_LABEL: Record<string, string> = {
  'reidentification.magic-link': 'Magic link (re-identification)',
  'reidentification.step-up': 'Confirmation before adding a passkey',
  'webhook.undelivered': 'Webhook delivery alert',
};

type View = 'both' | 'html' | 'text' | 'headers' | 'source';

function MessageView({ m, linksLive, relink }: { m: OutboxMessage; linksLive: boolean; relink: (s: string) => string }) {
  const toast = useToast();
  const [, setParams] = useSearchParams();
  const [view, setView] = useState<View>(m.html && m.text ? 'both' : m.html ? 'html' : 'text');
  const [deleting, setDeleting] = useState(false);
  // Headers and the raw RFC 822 source (sandbox only), composed by the register as SMTP carries them.
  const source = useMessageSource(m.id, linksLive && (view === 'headers' || view === 'source'));
  const retry = useRetryMessage(m.id, { onSuccess: () => toast('The register will try to send it again now') });
  const remove = useDeleteMessage();
  const canRetry = m.status === 'failed' || m.status === 'retrying';
  return (
    <Panel
      className="mail-view"
      title={m.subject}
      actions={
        <>
          {canRetry && (
            <Button size="sm" icon="refresh" busy={retry.isPending} onClick={() => retry.mutate()}>
              Retry now
            </Button>
          )}
          {linksLive && (
            <Button size="sm" icon="trash" onClick={() => setDeleting(true)}>
              Delete
            </Button>
          )}
        </>
      }
    >
      <ConfirmDialog
        open={deleting}
        onClose={() => setDeleting(false)}
        title="Delete this message?"
        confirmLabel="Delete message"
        tone="danger"
        onConfirm={async () => {
          await remove.mutateAsync(m.id);
          setParams({ id: null });
          toast('Message deleted');
        }}
      >
        <p>
          “{m.subject}” to {m.to} is removed from the sandbox outbox.
        </p>
      </ConfirmDialog>
      <KeyValue
        columns={3}
        items={[
          m.from ? ['From', m.from] : false,
          ['To', m.to],
          ['Created', <When iso={m['created-at']} />],
          ['Delivery', <StatusBadge status={m.status} />],
          m.purpose ? ['About', PURPOSE_LABEL[m.purpose] ?? m.purpose] : false,
          m.ref ? ['Reference', <code className="mono-sm">{m.ref}</code>] : false,
          m['sent-at'] ? ['Sent', <When iso={m['sent-at']} />] : m.attempts ? ['Attempts', String(m.attempts)] : false,
        ]}
      />
      {retry.error ? <ErrorNotice error={retry.error} /> : null}
      {m['last-error'] && (
        <Notice tone={m.status === 'failed' ? 'red' : 'amber'} title={m.status === 'failed' ? 'Delivery failed' : 'Last attempt failed'}>
          {m['last-error']}
          {m['next-attempt-at'] && (
            <>
              {' '}
              · next attempt <Relative iso={m['next-attempt-at']} />
            </>
          )}
        </Notice>
      )}
      {m.links.length > 0 && (
        <div className="mail-links">
          <div className="kv-label">Links in this message</div>
          <ul>
            {m.links.map((l) => (
              <li key={l}>
                {linksLive ? (
                  <a href={relink(l)} target="_blank" rel="noopener noreferrer" className="external-link mail-link">
                    <Icon name="external" size={13} />
                    {relink(l)}
                  </a>
                ) : (
                  <code className="mono-sm break">{l}</code>
                )}
              </li>
            ))}
          </ul>
          {linksLive && <p className="muted small">Sandbox: opening a link plays the customer's part. Nothing is confirmed until the "Yes, it's me" button is pressed.</p>}
        </div>
      )}
      <Tabs
        label="Message format"
        value={view}
        onChange={(v) => setView(v as View)}
        tabs={[
          ...(m.html && m.text ? [{ id: 'both', label: 'Side by side' }] : []),
          ...(m.html ? [{ id: 'html', label: 'Formatted' }] : []),
          { id: 'text', label: 'Plain text' },
          ...(linksLive
            ? [
                { id: 'headers', label: 'Headers' },
                { id: 'source', label: 'Raw source' },
              ]
            : []),
        ]}
      />
      {view === 'both' && m.html ? (
        <div className="mail-sbs" data-testid="mail-side-by-side">
          <div>
            <div className="mail-sbs-label">HTML</div>
            <iframe className="mail-frame" title={`E-mail (HTML): ${m.subject}`} sandbox={linksLive ? 'allow-popups allow-popups-to-escape-sandbox' : ''} srcDoc={srcdocFor(relink(m.html), linksLive)} referrerPolicy="no-referrer" />
          </div>
          <div>
            <div className="mail-sbs-label">Plain text</div>
            <pre className="mail-text" aria-label="Plain text">
              {relink(m.text ?? '')}
            </pre>
          </div>
        </div>
      ) : view === 'html' && m.html ? (
        <iframe className="mail-frame" title={`E-mail: ${m.subject}`} sandbox={linksLive ? 'allow-popups allow-popups-to-escape-sandbox' : ''} srcDoc={srcdocFor(relink(m.html), linksLive)} referrerPolicy="no-referrer" />
      ) : view === 'headers' || view === 'source' ? (
        source.isLoading ? (
          <Spinner label="Composing the source…" />
        ) : source.error ? (
          <ErrorNotice error={source.error} />
        ) : source.data && view === 'headers' ? (
          <table className="mail-headers" aria-label="Headers">
            <tbody>
              {source.data.headers.map((h, i) => (
                <tr key={`${h.name}-${i}`}>
                  <th scope="row">{h.name}</th>
                  <td>{h.value}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : source.data ? (
          <pre className="mail-text mail-source" aria-label="Raw source">
            {source.data.source}
          </pre>
        ) : null
      ) : (
        <pre className="mail-text">{m.text ? relink(m.text) : '(no text part)'}</pre>
      )}
    </Panel>
  );
}
