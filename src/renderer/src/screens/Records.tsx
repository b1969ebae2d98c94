import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useIsAdmin } from '../auth';
import { useState } from 'react';
import { api } from '../api/client';
import { LEGAL_BASES, REVOKE_REASONS, type Controller, type Envelope, type RecordDetail, type RecordRow } from '../api/types';
import { fmtDate, fmtNumber, legalBasis, LEGAL_BASIS_LABEL, LEGAL_BASIS_PLAIN, REVOKE_REASON_LABEL } from '../lib/format';
import { Link, navigate, useSearchParams } from '../lib/router';
import { Button, FilterSelect, SearchBox, SelectField } from '../ui/controls';
import { IdText } from '../ui/copy';
import { ConfirmDialog } from '../ui/dialog';
import { Badge, EmptyState, ErrorNotice, Notice, Spinner, StatusBadge } from '../ui/feedback';
import { Chips, ExternalLink, JsonBlock, KeyValue, PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable } from '../ui/table';
import { DateRangeFilter, PageControls, StreamExportDialog, Truncated, useDataUser, useListState, useTablePage } from '../ui/listing';
import { AccountPicker } from '../ui/picker';
import { When } from '../ui/time';
import { useToast } from '../ui/toast';

/* ------------------------------------------------------------------ list */

export function RecordListScreen() {
  const [params, setParams] = useSearchParams();
  const [list, setList] = useListState();
  const [exporting, setExporting] = useState(false);
  const q = params.get('q') ?? '';
  const state = params.get('state') ?? '';
  const basis = params.get('legal-basis') ?? '';
  const duid = params.get('duid') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const dataUser = useDataUser(duid);
  const filters = { q: q || undefined, state: state || undefined, 'legal-basis': basis || undefined, duid: duid || undefined, from: from || undefined, to: to || undefined };
  const page = useTablePage<RecordRow>(['records', 'list'], '/admin/records', 'records', filters, list);
  const filtered = !!(q || state || basis || duid || from || to);
  // A new filter starts again at the first row.
  const filter = (changes: Record<string, string | null>) => setParams({ ...changes, row: null });
  const sortKey = list.sort ?? 'created';
  const order = list.order ?? (sortKey === 'created' ? 'desc' : 'asc');

  return (
    <>
      <PageHeader
        title="Access records"
        subtitle="Who holds lawful access to which meter point, under which basis. Search by part of an MPxN, access key, purpose or organisation name."
        actions={
          <Button icon="download" onClick={() => setExporting(true)} disabled={page.total === 0}>
            Export CSV
          </Button>
        }
      />
      <Panel flush>
        <Toolbar end={page.total !== null && <span className="muted small">{page.total.toLocaleString('en-GB')} found</span>}>
          <SearchBox label="Search" value={q} onSearch={(v) => filter({ q: v })} placeholder="MPxN, ak_…, purpose or organisation" width={300} />
          <FilterSelect
            label="State"
            value={state}
            onChange={(v) => filter({ state: v })}
            options={[
              { value: '', label: 'Any state' },
              { value: 'ACTIVE', label: 'Active' },
              { value: 'EXPIRED', label: 'Expired' },
              { value: 'REVOKED', label: 'Revoked' },
              { value: 'DISCOVERED', label: 'Discovered' },
            ]}
          />
          <FilterSelect label="Legal basis" value={basis} onChange={(v) => filter({ 'legal-basis': v })} options={[{ value: '', label: 'Any basis' }, ...LEGAL_BASES.map((b) => ({ value: b, label: LEGAL_BASIS_LABEL[b] }))]} />
          <div className="filter filter-picker">
            <AccountPicker label="Data User" roles={['data_user']} value={duid ? dataUser : null} onChange={(a) => filter({ duid: a?.duid ?? null })} placeholder="Search by name" onlyActive={false} />
          </div>
          <DateRangeFilter label="Created" from={from} to={to} onChange={(f, t) => filter({ from: f, to: t })} />
        </Toolbar>
        <PagedTable
          page={page}
          noun="access records"
          caption="Access records"
          rowKey={(r) => r.ak}
          onRowClick={(r) => navigate(`/records/${r.ak}`)}
          rowClassName={(r) => (r.state === 'EXPIRED' || r.state === 'REVOKED' ? 'row-dim' : undefined)}
          sort={{ key: sortKey, order, onSort: (k, o) => setList({ sort: k === 'created' && o === 'desc' ? null : k, order: k === 'created' && o === 'desc' ? null : o, offset: 0 }) }}
          columns={[
            {
              key: 'ak',
              header: 'Access key',
              render: (r) => (
                <Link to={`/records/${r.ak}`} className="mono-sm">
                  {r.ak}
                </Link>
              ),
            },
            { key: 'mpxn', header: 'MPxN', sortKey: 'mpxn', render: (r) => <code>{r.mpxn}</code> },
            { key: 'state', header: 'State', sortKey: 'state', className: 'col-key', render: (r) => <StatusBadge status={r.state} /> },
            {
              key: 'expiry',
              header: 'Expiry',
              sortKey: 'expiry',
              className: 'nowrap col-key',
              render: (r) => (r.expiry ? fmtDate(r.expiry) : r.state === 'DISCOVERED' ? <span className="muted">—</span> : <span className="muted">No end</span>),
            },
            {
              key: 'org',
              header: 'Controller',
              sortKey: 'organisation',
              render: (r) => (
                <div className="cell-stack">
                  <Truncated text={r['lead-controller-name'] ?? r['organisation-name']} width={200} />
                  {r['arrangement-type'] && r['arrangement-type'] !== 'sole' && (
                    <span className="cell-sub">
                      {r['arrangement-type']} · {r['controller-count']} controllers
                    </span>
                  )}
                </div>
              ),
            },
            {
              key: 'du',
              header: 'Data User',
              render: (r) =>
                r['data-user-name'] ? (
                  <span className="cell-trunc" style={{ maxWidth: 160 }} title={`${r['data-user-name']} (${r.duid})`}>
                    {r['data-user-name']}
                  </span>
                ) : (
                  <span className="muted">—</span>
                ),
            },
            { key: 'purpose', header: 'Purpose', render: (r) => <Truncated text={r.purpose} width={220} /> },
            { key: 'basis', header: 'Legal basis', className: 'nowrap', render: (r) => legalBasis(r['legal-basis']) },
            { key: 'created', header: 'Created', sortKey: 'created', firstOrder: 'desc', className: 'nowrap', render: (r) => fmtDate(r['created-at']) },
          ]}
          controls={<PageControls state={list} setState={setList} total={page.total} shown={page.rows.length} noun="access records" />}
          empty={
            filtered ? (
              <EmptyState icon="search" title="No access records match" action={<Button onClick={() => filter({ q: null, state: null, 'legal-basis': null, duid: null, from: null, to: null })}>Clear filters</Button>}>
                Search matches part of an MPxN, access key, purpose or organisation name (three characters or more; shorter terms match the start), or an exact DUID or organisation reference.
              </EmptyState>
            ) : (
              <EmptyState icon="file" title="No access records yet">
                Data users register access records through the API (POST /v1/access-records). They appear here as soon as they do.
              </EmptyState>
            )
          }
        />
      </Panel>
      <StreamExportDialog
        open={exporting}
        onClose={() => setExporting(false)}
        path="/admin/records/export.csv"
        query={{ ...filters, sort: list.sort ?? undefined, order: list.order ?? undefined }}
        noun="access records"
        filename="dar-access-records"
        describe={`${page.total !== null ? fmtNumber(page.total) : 'All'} access records${filtered ? ' matching the current filters' : ''}${dataUser ? ` of ${dataUser['display-name']}` : ''}, in the order shown.`}
      />
    </>
  );
}

/* ---------------------------------------------------------------- detail */

function ControllerCard({ c }: { c: Controller }) {
  const addr = c.address;
  return (
    <div className="controller">
      <div className="controller-head">
        <span className="controller-name">{c.name}</span>
        <Badge tone={c.role === 'lead' || c.role === 'sole' ? 'blue' : 'neutral'}>{c.role}</Badge>
      </div>
      <KeyValue
        columns={2}
        items={[
          ['Contact', <ExternalLink href={c['contact-url']} />],
          ['Privacy rights', <ExternalLink href={c['privacy-rights-url']} />],
          c['lia-reference'] ? ['LIA reference', c['lia-reference']] : false,
          c['statutory-reference'] ? ['Statutory reference', c['statutory-reference']] : false,
          addr ? ['Address', [addr.addressLine1, addr.addressLine2, addr.townCity, addr.county, addr.postcode].filter(Boolean).join(', ')] : false,
          c['storage-conditions'] ? ['Storage', [c['storage-conditions'].location, c['storage-conditions']['retention-period'] && `kept ${c['storage-conditions']['retention-period']}`].filter(Boolean).join(' · ')] : false,
        ]}
      />
    </div>
  );
}

const EVENT_LABEL: Record<string, string> = {
  'access-record.created': 'Registered',
  'access-record.replaced': 'Replaced',
  'access-record.updated': 'Updated',
  'access-record.revoked': 'Revoked',
  'access-record.expired': 'Expired',
  'access-record.withdrawn': 'Withdrawn by the customer',
  'discovered-access.recorded': 'Reported by the DCC',
  'discovered-access.updated': 'Seen again by the DCC',
  'discovered-access.superseded': 'Superseded by a full record',
  'discovered-access.expired': 'Expired',
};

function eventLabel(type: string): string {
  if (EVENT_LABEL[type]) return EVENT_LABEL[type];
  const last = type.split('.').pop() ?? type;
  return last.charAt(0).toUpperCase() + last.slice(1).replace(/-/g, ' ');
}

interface Mark {
  at: string;
  label: string;
  type?: string;
  actor?: string | null;
  detail?: unknown;
  future?: boolean;
  cls: string;
}

/** The record's life: when access began, every audited change, and the expiry still ahead. */
function RecordTimeline({ r }: { r: RecordDetail }) {
  const event = r['access-record']?.['access-event'];
  const marks: Mark[] = [];
  const began = event?.['registered-at'];
  if (began && began < r['created-at']) marks.push({ at: began, label: 'Access began', detail: 'registered-at, as declared by the data user', cls: 'tl-registered' });
  for (const t of r.timeline ?? []) marks.push({ at: t.at, label: eventLabel(t['event-type']), type: t['event-type'], actor: t.actor, detail: t.detail, cls: `tl-${t['event-type'].split('.').pop()}` });
  if (r.state === 'ACTIVE' && r.expiry) marks.push({ at: r.expiry, label: 'Expires', future: true, detail: 'unless renewed or revoked first', cls: 'tl-expiry' });
  marks.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
  if (marks.length === 0) return <p className="muted small">No events recorded.</p>;
  return (
    <ol className="timeline">
      {marks.map((m, i) => (
        <li key={i} className={`timeline-item ${m.cls}${m.future ? ' is-future' : ''}`}>
          <span className="timeline-dot" aria-hidden="true" />
          <div className="timeline-body">
            <div className="timeline-label">{m.label}</div>
            <div className="timeline-when">
              <When iso={m.at} compact />
              {m.actor && <span className="muted"> · {m.actor}</span>}
            </div>
            {m.type && (
              <div className="timeline-detail">
                <code>{m.type}</code>
              </div>
            )}
            {m.detail !== null && m.detail !== undefined && typeof m.detail === 'object' && Object.keys(m.detail as object).length > 0 && (
              <div className="timeline-detail">
                {Object.entries(m.detail as Record<string, unknown>).map(([k, v]) => (
                  <span key={k}>
                    {k}: <code>{typeof v === 'string' ? v : JSON.stringify(v)}</code>
                  </span>
                ))}
              </div>
            )}
            {typeof m.detail === 'string' && <div className="timeline-detail">{m.detail}</div>}
          </div>
        </li>
      ))}
    </ol>
  );
}

export function RecordDetailScreen({ ak }: { ak: string }) {
  const qc = useQueryClient();
  const toast = useToast();
  const [revoking, setRevoking] = useState(false);
  // Revoking is for administrators; support staff read records only.
  const admin = useIsAdmin();
  const [reason, setReason] = useState<string>('');
  const query = useQuery({
    queryKey: ['records', 'detail', ak],
    queryFn: ({ signal }) => api<Envelope & { record: RecordDetail }>(`/admin/records/${encodeURIComponent(ak)}`, { signal }),
  });
  const back = { to: '/records', label: 'Access records' };
  if (query.isLoading) return <Spinner label="Loading access record…" />;
  if (query.error || !query.data)
    return (
      <>
        <PageHeader title={ak} back={back} />
        <ErrorNotice error={query.error ?? new Error('Not found')} onRetry={() => void query.refetch()} />
      </>
    );
  const r = query.data.record;
  const full = r['access-record'] ?? ({} as RecordDetail['access-record']);
  const meta = full['record-metadata'] ?? {};
  const arrangement = meta['controller-arrangement'];
  const processing = full.processing;
  const event = full['access-event'];
  const notice = full.notice;
  const discovered = full['discovered-access'];
  const isDiscovered = r.state === 'DISCOVERED';
  const revokedEvent = r.timeline?.find((t) => t['event-type'].endsWith('.revoked'));
  // The reason is in the revocation's audit event (the published record has no field for it).
  const revokeReason = (revokedEvent?.detail as { reason?: string } | undefined)?.reason ?? null;

  return (
    <>
      <PageHeader
        back={back}
        title={
          <>
            {r['lead-controller-name'] ?? discovered?.['organisation-name'] ?? 'Access record'} <span className="title-id">{r.ak}</span>
          </>
        }
        meta={
          <>
            <StatusBadge status={r.state} />
            <span className="muted">
              MPxN <code>{r.mpxn}</code>
              {r.owner && (
                <>
                  {' '}
                  · registered by <Link to={`/data-users/${encodeURIComponent(r.owner['account-id'] ?? r.owner.duid)}`}>{r.owner['display-name']}</Link>
                </>
              )}
            </span>
          </>
        }
        actions={
          admin &&
          r.state === 'ACTIVE' && (
            <Button variant="danger" icon="ban" onClick={() => setRevoking(true)}>
              Revoke
            </Button>
          )
        }
      />
      {r.state === 'REVOKED' && (
        <Notice tone="red" title={`Revoked ${r['revoked-at'] ? `on ${fmtDate(r['revoked-at'])}` : ''}`}>
          {revokeReason ? `Reason: ${REVOKE_REASON_LABEL[revokeReason] ?? revokeReason}. ` : ''}
          {revokedEvent?.actor ? `Revoked by ${revokedEvent.actor}. ` : ''}The organisation may no longer obtain data for this meter point under this record.
        </Notice>
      )}
      {r.state === 'EXPIRED' && (
        <Notice tone="grey" title="Expired">
          The expiry date has passed; data providers will refuse requests under this record.
        </Notice>
      )}
      <div className="record-layout">
        <div className="stack">
          {isDiscovered && discovered && (
            <Panel title="Discovered access" subtitle="Observed by the DCC; no full record was registered for it.">
              <KeyValue
                columns={2}
                items={[
                  ['Organisation', discovered['organisation-name']],
                  ['Organisation reference', <code>{discovered['organisation-reference']}</code>],
                  ['First seen', fmtDate(discovered['first-seen'])],
                  ['Last seen', fmtDate(discovered['last-seen'])],
                  ['Data types observed', <Chips values={discovered['data-types-observed']} />],
                  ['Source reference', <code>{discovered['source-reference']}</code>],
                  [
                    'Superseded by',
                    discovered['superseded-by'] ? (
                      <Link to={`/records/${discovered['superseded-by']}`} className="mono-sm">
                        {discovered['superseded-by']}
                      </Link>
                    ) : null,
                  ],
                ]}
              />
            </Panel>
          )}
          {!isDiscovered && (
            <>
              <Panel title="Record metadata">
                <KeyValue
                  columns={2}
                  items={[
                    ['Access key', <IdText value={meta['record-identifier'] ?? r.ak} />],
                    ['Schema version', meta['schema-version']],
                    ['Created', <When iso={meta['created-at'] ?? r['created-at']} />],
                    ['Arrangement', arrangement?.['arrangement-type']],
                    arrangement?.['art26-reference'] ? ['Art. 26 reference', arrangement['art26-reference']] : false,
                    [
                      'Identity record',
                      (meta['identity-record-ref'] ?? r.ir) ? (
                        <Link to={`/identity-records/${meta['identity-record-ref'] ?? r.ir}`} className="mono-sm">
                          {meta['identity-record-ref'] ?? r.ir}
                        </Link>
                      ) : null,
                    ],
                  ]}
                />
              </Panel>
              <Panel title={`Controllers${arrangement?.controllers ? ` (${arrangement.controllers.length})` : ''}`}>
                <div className="stack-sm">{arrangement?.controllers?.length ? arrangement.controllers.map((c, i) => <ControllerCard key={i} c={c} />) : <p className="muted small">None listed.</p>}</div>
              </Panel>
              <Panel title="Processing">
                <KeyValue
                  columns={2}
                  items={[
                    [
                      'Legal basis',
                      processing?.['legal-basis'] ? (
                        <span>
                          {legalBasis(processing['legal-basis'])} <span className="muted">· customer sees "{LEGAL_BASIS_PLAIN[processing['legal-basis']] ?? processing['legal-basis']}"</span>
                        </span>
                      ) : null,
                    ],
                    ['Jurisdiction', processing?.jurisdiction],
                    ['Data types', <Chips values={processing?.['data-types']} />],
                    ['Data source', processing?.['data-source']],
                  ]}
                />
                {processing?.purpose && (
                  <div className="purpose">
                    <div className="kv-label">Purpose</div>
                    <p>{processing.purpose}</p>
                  </div>
                )}
                {processing?.recipients && processing.recipients.length > 0 && (
                  <div className="purpose">
                    <div className="kv-label">Recipients</div>
                    <ul className="plain-list">
                      {processing.recipients.map((x, i) => (
                        <li key={i}>
                          {x.name} <span className="muted">({x.role})</span> {x['privacy-url'] && <ExternalLink href={x['privacy-url']}>privacy notice</ExternalLink>}
                        </li>
                      ))}
                    </ul>
                  </div>
                )}
              </Panel>
              <Panel title="Notice">
                {notice?.['shared-notice'] ? (
                  <KeyValue
                    columns={2}
                    items={[
                      ['Terms', <ExternalLink href={notice['shared-notice']['terms-url']} />],
                      ['Version', notice['shared-notice']['notice-version']],
                      ['Language', notice['shared-notice']['notice-language']],
                    ]}
                  />
                ) : notice?.notices?.length ? (
                  <ul className="plain-list">
                    {notice.notices.map((n, i) => (
                      <li key={i}>
                        <strong>{n['controller-name']}</strong>: <ExternalLink href={n['terms-url']}>terms v{n['notice-version']}</ExternalLink>
                        {n['notice-language'] ? ` (${n['notice-language']})` : ''}
                      </li>
                    ))}
                  </ul>
                ) : (
                  <p className="muted small">No notice: the legal basis is not consent.</p>
                )}
              </Panel>
              <Panel title="Access event">
                <KeyValue
                  columns={2}
                  items={[
                    ['State', <StatusBadge status={event?.state ?? r.state} />],
                    ['Registered', <When iso={event?.['registered-at']} />],
                    ['Expiry', event?.expiry ? <When iso={event.expiry} /> : 'No end date'],
                    ['Controller reference', event?.['controller-reference']],
                    ['Consent', event?.consent ? [event.consent['consent-type'], event.consent.method].filter(Boolean).join(' · ') : null],
                    ['Revoked', <When iso={event?.['revoked-at'] ?? r['revoked-at']} />],
                  ]}
                />
              </Panel>
            </>
          )}
          <details className="disclosure panel">
            <summary>Full record as data providers see it (JSON)</summary>
            <JsonBlock value={full} />
          </details>
        </div>
        <Panel title="Timeline" className="timeline-panel" subtitle="State changes, oldest first.">
          <RecordTimeline r={r} />
        </Panel>
      </div>

      <ConfirmDialog
        open={revoking}
        onClose={() => {
          setRevoking(false);
          setReason('');
        }}
        title="Revoke this access record?"
        confirmLabel="Revoke record"
        tone="danger"
        onConfirm={async () => {
          if (!reason) throw new Error('Choose a reason for the revocation.');
          await api(`/admin/records/${encodeURIComponent(ak)}/revoke`, { method: 'POST', body: { reason } });
          void qc.invalidateQueries({ queryKey: ['records'] });
          void qc.invalidateQueries({ queryKey: ['stats'] });
          void qc.invalidateQueries({ queryKey: ['identity'] });
          void qc.invalidateQueries({ queryKey: ['audit'] });
          toast('Access record revoked');
        }}
      >
        <p>
          {r['lead-controller-name'] ?? 'The organisation'} loses access to meter point <code>{r.mpxn}</code> under this record. The owning data user is told by a <code>consent.withdrawal</code> webhook. This cannot be undone; a new record
          would be needed.
        </p>
        <SelectField label="Reason" required value={reason} onChange={(e) => setReason(e.target.value)}>
          <option value="">Choose a reason…</option>
          {REVOKE_REASONS.map((x) => (
            <option key={x} value={x}>
              {REVOKE_REASON_LABEL[x]}
            </option>
          ))}
        </SelectField>
      </ConfirmDialog>
    </>
  );
}
