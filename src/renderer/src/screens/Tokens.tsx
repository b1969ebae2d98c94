import { useState } from 'react';
import { TOKEN_STATUSES } from '../../../shared/vocabulary';
import { useDataUser } from '../api/accounts';
import { useCancelToken, useTokenList } from '../api/tokens';
import type { Token } from '../api/types';
import { fmtNumber, METHOD_LABEL } from '../lib/format';
import { href, Link } from '../lib/router';
import { Button, ButtonLink, FilterSelect, SearchBox } from '../ui/controls';
import { ConfirmDialog } from '../ui/dialog';
import { EmptyState, LiveDot, registerAnswering, StatusBadge, statusLabel } from '../ui/feedback';
import { PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable } from '../ui/table';
import { DateRangeFilter, foundCount, StreamExportDialog, Truncated, useListScreen } from '../ui/listing';
import { DataUserFilter } from '../ui/picker';
import { Countdown, Relative, When } from '../ui/time';
import { useToast } from '../ui/toast';

// Pending first: the list opens on the tokens still waiting for a customer ("all" is the explicit "any").
const STATUS_FILTERS = [{ value: 'pending', label: statusLabel('pending') }, { value: 'all', label: 'Any status' }, ...TOKEN_STATUSES.filter((s) => s !== 'pending').map((s) => ({ value: s, label: statusLabel(s) }))];

export function TokensScreen() {
  const view = useListScreen();
  const { param, filter } = view;
  // The screen is "Pending tokens": pending ones unless the URL asks for another status or `all`.
  const status = param('status') || 'pending';
  const mpxn = param('mpxn');
  const q = param('q');
  const duid = param('duid');
  const from = param('from');
  const to = param('to');
  const [exporting, setExporting] = useState(false);
  const dataUser = useDataUser(duid);
  const filters = { status: status === 'all' ? undefined : status, mpxn: mpxn || undefined, q: q || undefined, duid: duid || undefined, from: from || undefined, to: to || undefined };
  const list = useTokenList(filters, view.state, 2000);
  const statusLabel = STATUS_FILTERS.find((f) => f.value === status)?.label.toLowerCase() ?? status;
  const [cancelling, setCancelling] = useState<Token | null>(null);
  const filtered = status !== 'all' || !!(mpxn || q || duid || from || to);

  return (
    <>
      <PageHeader
        title="Pending tokens"
        subtitle="Every re-identification the register issued: who asked, for which meter point, and whether the customer confirmed."
        meta={<LiveDot label="Live · refreshes every 2 s" connected={registerAnswering(list.failureReason)} />}
        actions={
          <>
            <Button icon="download" onClick={() => setExporting(true)} disabled={list.total === 0}>
              Export CSV
            </Button>
            <ButtonLink href="#/reidentify" variant="primary" icon="phone">
              Re-identification desk
            </ButtonLink>
          </>
        }
      />
      <Panel flush>
        <Toolbar end={foundCount(list.total)}>
          <span className="filter-state" data-testid="tokens-filter-state">
            Showing: <strong>{status === 'all' ? 'all tokens' : statusLabel}</strong>
            {status !== 'all' && (
              <Link to={href('/tokens', { status: 'all', mpxn: mpxn || undefined, q: q || undefined, duid: duid || undefined, from: from || undefined, to: to || undefined })} className="small">
                Show all
              </Link>
            )}
          </span>
          <FilterSelect label="Status" value={status} onChange={(v) => filter({ status: v === 'pending' ? null : v })} options={STATUS_FILTERS} />
          <SearchBox label="Search" value={q} onSearch={(v) => filter({ q: v.replace(/\s+/g, '') || null })} placeholder="Start of an MPxN or token" width={220} />
          <DataUserFilter duid={duid} dataUser={dataUser} roles={['data_user', 'portal']} onChange={(d) => filter({ duid: d })} />
          <DateRangeFilter label="Started" from={from} to={to} onChange={(f, t) => filter({ from: f, to: t })} />
          {mpxn && (
            <span className="filter-state">
              MPxN <code>{mpxn}</code>{' '}
              <Link to={href('/tokens', { status: status === 'pending' ? undefined : status, q: q || undefined, duid: duid || undefined, from: from || undefined, to: to || undefined })} className="small">
                Clear
              </Link>
            </span>
          )}
        </Toolbar>
        <PagedTable
          page={list}
          noun="tokens"
          caption="Re-identification tokens"
          rowKey={(t) => t['token-ref']}
          rowClassName={(t) => (t.status === 'pending' ? 'row-highlight' : undefined)}
          sort={view.sort}
          controls={view.controls(list, 'tokens')}
          columns={[
            {
              key: 'ref',
              header: 'Token',
              render: (t) => (
                <div className="cell-stack">
                  <code className="mono-sm">{t['token-ref']}</code>
                  <span className="cell-sub">{METHOD_LABEL[t.method] ?? t.method}</span>
                </div>
              ),
            },
            {
              key: 'status',
              header: 'Status',
              sortKey: 'status',
              className: 'col-key',
              // Status (with Cancel) and expiry come right after the token, so they stay in
              // view on narrow screens (1024×768).
              render: (t) => (
                <div className="cell-stack">
                  <StatusBadge status={t.status} />
                  {cancellable(t) && (
                    <Button
                      size="sm"
                      variant="ghost"
                      icon="close"
                      aria-label={`Cancel ${t['token-ref']}`}
                      onClick={(e) => {
                        e.stopPropagation();
                        setCancelling(t);
                      }}
                    >
                      Cancel
                    </Button>
                  )}
                </div>
              ),
            },
            {
              key: 'expires',
              header: 'Expires',
              sortKey: 'expiry',
              className: 'col-key',
              render: (t) =>
                t.status === 'pending' && t['expires-at'] ? (
                  <Countdown to={t['expires-at']} from={t['created-at']} />
                ) : t.status === 'confirmed' ? (
                  <span className="nowrap">
                    usable <Relative iso={t['expires-at']} />
                  </span>
                ) : (
                  <When iso={t['expires-at']} compact />
                ),
            },
            {
              key: 'who',
              header: 'Initiated by',
              render: (t) => (
                <div className="cell-stack">
                  <Truncated text={t['initiator-display-name']} width={170} />
                  <span className="cell-sub">
                    <code>{t['initiator-account-id']}</code> · {t.flow === 'mpxn' ? 'by MPxN' : 'own record'}
                  </span>
                </div>
              ),
            },
            {
              key: 'mpxn',
              header: 'MPxN',
              render: (t) => (
                <div className="cell-stack">
                  <Link to={href('/identity-records', { mpxn: t.mpxn })}>
                    <code>{t.mpxn}</code>
                  </Link>
                  {t['dispatched-to'] && <span className="cell-sub mono-sm">to {t['dispatched-to']}</span>}
                </div>
              ),
            },
            { key: 'created', header: 'Started', sortKey: 'created', firstOrder: 'desc', className: 'nowrap', render: (t) => <Relative iso={t['created-at']} /> },
            {
              key: 'done',
              header: 'Outcome',
              render: (t) =>
                t['confirmed-at'] || t['consumed-at'] ? (
                  <div className="cell-stack">
                    {t['confirmed-at'] && (
                      <span className="nowrap">
                        confirmed <Relative iso={t['confirmed-at']} />
                      </span>
                    )}
                    {t['consumed-at'] && (
                      <span className="cell-sub nowrap">
                        used <Relative iso={t['consumed-at']} />
                      </span>
                    )}
                  </div>
                ) : (
                  <span className="muted">—</span>
                ),
            },
          ]}
          empty={
            <EmptyState
              icon="key"
              title={status === 'pending' && !(mpxn || q || duid || from || to) ? 'No pending tokens' : filtered ? 'No tokens match' : 'No re-identification yet'}
              action={
                <ButtonLink href="#/reidentify" icon="phone">
                  Open the desk
                </ButtonLink>
              }
            >
              Tokens appear here when a data user, a portal or the desk asks a customer to confirm who they are.
            </EmptyState>
          }
        />
      </Panel>
      <CancelTokenDialog token={cancelling} onClose={() => setCancelling(null)} />
      <StreamExportDialog
        open={exporting}
        onClose={() => setExporting(false)}
        path="/admin/reidentifications/export.csv"
        query={view.exportQuery(filters)}
        noun="tokens"
        filename="dar-reidentifications"
        describe={`${list.total !== null ? fmtNumber(list.total) : 'All'} ${status === 'all' ? '' : `${statusLabel} `}tokens${filtered ? ' matching the current filters' : ''}${dataUser ? ` started by ${dataUser['display-name']}` : ''}, in the order shown.`}
      />
    </>
  );
}

/** A challenge the customer has not used yet can be cancelled (admin and support). */
export function cancellable(t: Pick<Token, 'status'>): boolean {
  return t.status === 'pending' || t.status === 'confirmed';
}

/**
 * Confirms and cancels a re-identification (POST /v1/admin/reidentifications/{ref}/cancel):
 * its link or passkey page then says it was cancelled, and the organisation can no longer use it.
 */
export function CancelTokenDialog({ token, onClose, onCancelled }: { token: Pick<Token, 'token-ref' | 'mpxn' | 'status'> | null; onClose: () => void; onCancelled?: (t: Token) => void }) {
  const toast = useToast();
  const cancel = useCancelToken();
  return (
    <ConfirmDialog
      open={!!token}
      onClose={onClose}
      title="Cancel this re-identification?"
      confirmLabel="Cancel the challenge"
      busyLabel="Cancelling…"
      tone="danger"
      onConfirm={async () => {
        if (!token) return;
        const res = await cancel.mutateAsync(token['token-ref']);
        toast('Re-identification cancelled');
        onCancelled?.(res.token);
      }}
    >
      <p>
        The customer's {token?.status === 'confirmed' ? 'confirmation' : 'link or passkey page'} for meter point <code>{token?.mpxn}</code> stops working at once: the page tells them it was cancelled, and the organisation can no longer use
        the token. You can start a new one afterwards.
      </p>
    </ConfirmDialog>
  );
}
