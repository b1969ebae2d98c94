import { useState } from 'react';
import { useRevokeRecord, useRecord } from '../api/records';
import { REVOKE_REASONS, type Controller, type RecordDetail } from '../api/types';
import { useIsAdmin } from '../auth';
import { fmtDate, legalBasis, LEGAL_BASIS_PLAIN, REVOKE_REASON_LABEL } from '../lib/format';
import { Link } from '../lib/router';
import { Button, SelectField } from '../ui/controls';
import { IdText } from '../ui/copy';
import { ConfirmDialog } from '../ui/dialog';
import { Badge, detailUnavailable, Notice, StatusBadge } from '../ui/feedback';
import { Chips, ExternalLink, JsonBlock, KeyValue, PageHeader, Panel } from '../ui/layout';
import { When } from '../ui/time';
import { useToast } from '../ui/toast';

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
  const toast = useToast();
  const [revoking, setRevoking] = useState(false);
  // Revoking is for administrators; support staff read records only.
  const admin = useIsAdmin();
  const [reason, setReason] = useState<string>('');
  const query = useRecord(ak);
  const revoke = useRevokeRecord(ak);
  const back = { to: '/records', label: 'Access records' };
  const unavailable = detailUnavailable(query, { title: ak, back: back, loading: 'Loading access record…' });
  if (unavailable) return unavailable;
  const r = query.data!.record;
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
          await revoke.mutateAsync(reason);
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
