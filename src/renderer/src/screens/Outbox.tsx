import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';
import { api } from '../api/client';
import { useMode, usePagedList } from '../api/hooks';
import type { OutboxMessage } from '../api/types';
import { plural } from '../lib/format';
import { useSearchParams } from '../lib/router';
import { Button, FilterSelect } from '../ui/controls';
import { useToast } from '../ui/toast';
import { EmptyState, ErrorNotice, Notice, Spinner, StatusBadge } from '../ui/feedback';
import { Icon } from '../ui/icons';
import { KeyValue, PageHeader, Panel, Tabs } from '../ui/layout';
import { Relative, When } from '../ui/time';

/** Renders a message's HTML with no scripts; links open in a new tab (sandbox) or not at all. */
function srcdocFor(html: string, linksLive: boolean): string {
  const head = `<base target="_blank"><meta name="referrer" content="no-referrer"><style>body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1c2430;margin:16px;line-height:1.5}${linksLive ? '' : 'a{pointer-events:none;color:#5d6878}'}</style>`;
  return /<head[^>]*>/i.test(html) ? html.replace(/<head[^>]*>/i, (m) => `${m}${head}`) : `${head}${html}`;
}

export function OutboxScreen() {
  const [params, setParams] = useSearchParams();
  const mode = useMode();
  const sandbox = mode === 'sandbox';
  const status = params.get('status') ?? '';
  const list = usePagedList<OutboxMessage>(['outbox', 'list'], '/admin/outbox', 'messages', { status: status || undefined }, { refetchInterval: 5000 });
  const selectedId = params.get('id');
  const selected = useMemo(() => list.items.find((m) => String(m.id) === selectedId) ?? list.items[0] ?? null, [list.items, selectedId]);

  return (
    <>
      <PageHeader title="Outbox" subtitle="E-mails the register sent or captured: magic links to customers and delivery alerts to data users. Newest first." />
      {!sandbox && mode && (
        <Notice tone="amber" title="Production register">
          These messages went to real customers. Links are shown but cannot be opened from here: opening a magic link would act for the customer.
        </Notice>
      )}
      <div className="toolbar-bare">
        <FilterSelect
          label="Delivery"
          value={status}
          onChange={(v) => setParams({ status: v, id: null })}
          options={[
            { value: '', label: 'All messages' },
            { value: 'captured', label: 'Captured (no SMTP)' },
            { value: 'queued', label: 'Queued' },
            { value: 'retrying', label: 'Retrying' },
            { value: 'sent', label: 'Sent' },
            { value: 'failed', label: 'Failed' },
          ]}
        />
        {list.total !== null && <span className="muted small">{plural(list.total, 'message')} · newest first</span>}
      </div>
      {list.isLoading ? (
        <Spinner label="Loading messages…" />
      ) : list.error && !list.loaded ? (
        <ErrorNotice error={list.error} onRetry={list.refetch} />
      ) : list.items.length === 0 ? (
        <EmptyState icon="mail" title={status ? 'No messages in this state' : 'No e-mail yet'}>
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
          {selected && <MessageView key={String(selected.id)} m={selected} linksLive={sandbox} />}
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

function MessageView({ m, linksLive }: { m: OutboxMessage; linksLive: boolean }) {
  const qc = useQueryClient();
  const toast = useToast();
  const [view, setView] = useState<'html' | 'text'>(m.html ? 'html' : 'text');
  const retry = useMutation({
    mutationFn: () => api(`/admin/outbox/${encodeURIComponent(String(m.id))}/retry`, { method: 'POST' }),
    onSuccess: () => {
      void qc.invalidateQueries({ queryKey: ['outbox'] });
      toast('The register will try to send it again now');
    },
  });
  const canRetry = m.status === 'failed' || m.status === 'retrying';
  return (
    <Panel
      className="mail-view"
      title={m.subject}
      actions={
        canRetry && (
          <Button size="sm" icon="refresh" busy={retry.isPending} onClick={() => retry.mutate()}>
            Retry now
          </Button>
        )
      }
    >
      <KeyValue
        columns={3}
        items={[
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
                  <a href={l} target="_blank" rel="noopener noreferrer" className="external-link mail-link">
                    <Icon name="external" size={13} />
                    {l}
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
      {m.html && m.text && <Tabs label="Message format" value={view} onChange={(v) => setView(v as 'html' | 'text')} tabs={[{ id: 'html', label: 'Formatted' }, { id: 'text', label: 'Plain text' }]} />}
      {view === 'html' && m.html ? (
        <iframe className="mail-frame" title={`E-mail: ${m.subject}`} sandbox={linksLive ? 'allow-popups allow-popups-to-escape-sandbox' : ''} srcDoc={srcdocFor(m.html, linksLive)} referrerPolicy="no-referrer" />
      ) : (
        <pre className="mail-text">{m.text ?? '(no text part)'}</pre>
      )}
    </Panel>
  );
}
