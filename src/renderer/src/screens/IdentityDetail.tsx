import { useState } from 'react';
import { ApiError } from '../api/client';
import { useAnonymiseIdentity, useIdentityRecord, useRemovePasskey } from '../api/identity';
import type { AccessRecordSummary, Credential } from '../api/types';
import { useIsAdmin } from '../auth';
import { fmtDate, legalBasis, METHOD_LABEL } from '../lib/format';
import { accessKeyColumn } from '../ui/columns';
import { href, Link, navigate } from '../lib/router';
import { Button, ButtonLink } from '../ui/controls';
import { IdText } from '../ui/copy';
import { ConfirmDialog } from '../ui/dialog';
import { Badge, detailUnavailable, Notice, StatusBadge } from '../ui/feedback';
import { Icon } from '../ui/icons';
import { Chips, JsonBlock, KeyValue, PageHeader, Panel } from '../ui/layout';
import { DataTable } from '../ui/table';
import { When } from '../ui/time';
import { useToast } from '../ui/toast';

function isScalar(v: unknown): boolean {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

function isObject(v: unknown): boolean {
  return typeof v === 'object' && v !== null;
}

function activeRecords(records: AccessRecordSummary[]): AccessRecordSummary[] {
  return records.filter((r) => r.state === 'ACTIVE');
}

export function IdentityDetailScreen({ ir }: { ir: string }) {
  const toast = useToast();
  const [anonymising, setAnonymising] = useState(false);
  const [removing, setRemoving] = useState<Credential | null>(null);
  // The register masks the address and e-mail until a person asks to see them; "Reveal"
  // fetches them again with reveal=true, which the register audits (identity-record.read).
  const [revealed, setRevealed] = useState(false);
  const admin = useIsAdmin();
  const query = useIdentityRecord(ir, revealed);
  const anonymise = useAnonymiseIdentity(ir);
  const removePasskey = useRemovePasskey(ir);
  const back = { to: '/identity-records', label: 'Identity records' };
  const unavailable = detailUnavailable(query, { title: ir, back: back, loading: 'Loading identity record…' });
  if (unavailable) return unavailable;
  const d = query.data!;
  const rec = d['identity-record'];
  const pii = rec['pii-principal'];
  const verification = rec['principal-verification'];
  const anonymised = !!rec['anonymised-at'];
  const linked = d['access-records'] ?? [];
  const active = activeRecords(linked);

  return (
    <>
      <PageHeader
        back={back}
        title={
          <>
            Identity record <span className="title-id">{rec.ir}</span>
          </>
        }
        meta={
          <>
            {anonymised ? <StatusBadge status="anonymised" /> : <StatusBadge status="active" />}
            <span className="muted">
              Held by {d.owner ? admin ? <Link to={`/data-users/${encodeURIComponent(d.owner['account-id'] ?? d.owner.duid)}`}>{d.owner['display-name']}</Link> : d.owner['display-name'] : 'unknown data user'} · created{' '}
              {fmtDate(rec['created-at'])}
            </span>
          </>
        }
        actions={
          !anonymised && (
            <>
              {pii?.mpxn && (
                <ButtonLink href={href('/reidentify', { mpxn: pii.mpxn })} icon="phone">
                  Re-identify customer
                </ButtonLink>
              )}
              {admin && (
                <Button variant="danger" icon="trash" onClick={() => setAnonymising(true)}>
                  Anonymise
                </Button>
              )}
            </>
          )
        }
      />
      {anonymised && (
        <Notice tone="grey" title={`Anonymised on ${fmtDate(rec['anonymised-at'])}`}>
          Personal data, e-mail, passkeys and verification evidence were destroyed (GDPR Art. 17). The record id and its links remain for the audit trail.
        </Notice>
      )}
      <div className="grid grid-2">
        <Panel
          title="Data subject"
          actions={
            pii?.address || rec['has-email'] ? (
              d.masked !== false ? (
                <Button size="sm" icon="eye" onClick={() => setRevealed(true)} busy={revealed && query.isFetching} title="Shows the address and e-mail; the audit log records who looked">
                  Reveal
                </Button>
              ) : (
                <Button size="sm" variant="ghost" onClick={() => setRevealed(false)}>
                  Hide
                </Button>
              )
            ) : undefined
          }
        >
          {pii ? (
            <KeyValue
              items={[
                ['MPxN', <IdText value={pii.mpxn} />],
                ['Move-in date', fmtDate(pii['move-in-date'])],
                [
                  'Address',
                  pii.address ? (
                    <address className="address">
                      {[pii.address.addressLine1, pii.address.addressLine2, pii.address.townCity, pii.address.county, pii.address.postcode].filter(Boolean).map((l, i) => (
                        <span key={i}>{l}</span>
                      ))}
                    </address>
                  ) : null,
                ],
                ['Expressed by', rec['expressed-by'] === 'authorised-representative' ? 'Authorised representative' : rec['expressed-by'] === 'data-subject' ? 'The data subject' : rec['expressed-by']],
                ['E-mail on file', rec['has-email'] ? d.email ? <code data-testid="ir-email">{d.email}</code> : <Badge tone="green">Yes</Badge> : <span className="muted">No</span>],
              ]}
            />
          ) : (
            <p className="muted small">No personal data is held.</p>
          )}
        </Panel>
        <Panel title="Verification evidence">
          {verification ? (
            <div className="stack-sm">
              <KeyValue
                items={[
                  ['Method', verification.method],
                  ['Outcome', <StatusBadge status={verification.outcome} />],
                  ['Verified at', <When iso={verification['verified-at']} />],
                  ['Reference', verification.reference],
                  isScalar(verification.submitted) && ['Submitted', String(verification.submitted)],
                  isScalar(verification['verified-against']) && ['Verified against', String(verification['verified-against'])],
                  isScalar(verification.detail) && ['Detail', String(verification.detail)],
                ]}
              />
              {isObject(verification.submitted) && (
                <details className="disclosure">
                  <summary>Submitted</summary>
                  <JsonBlock value={verification.submitted} />
                </details>
              )}
              {isObject(verification['verified-against']) && (
                <details className="disclosure">
                  <summary>Verified against</summary>
                  <JsonBlock value={verification['verified-against']} />
                </details>
              )}
              {isObject(verification.detail) && (
                <details className="disclosure" open>
                  <summary>Detail</summary>
                  <JsonBlock value={verification.detail} />
                </details>
              )}
            </div>
          ) : (
            <p className="muted small">The data user recorded no verification evidence.</p>
          )}
        </Panel>
      </div>

      <Panel title="Passkeys" subtitle="Credentials the customer registered for re-identification. Public keys are never shown." flush>
        {rec.credentials.length === 0 ? (
          <p className="muted small panel-pad">No passkey registered. The customer can add one during a re-identification ("New passkey").</p>
        ) : (
          <DataTable
            rows={rec.credentials}
            rowKey={(c) => c['credential-id']}
            columns={[
              { key: 'id', header: 'Credential', render: (c) => <code className="mono-sm">{c['credential-id']}</code> },
              { key: 'at', header: 'Registered', render: (c) => <When iso={c['registered-at']} compact /> },
              { key: 'transports', header: 'Transports', render: (c) => <Chips values={c.transports} /> },
              {
                key: 'remove',
                header: '',
                align: 'right',
                render: (c) =>
                  admin ? (
                    <Button size="sm" variant="ghost" icon="trash" onClick={() => setRemoving(c)}>
                      Remove
                    </Button>
                  ) : null,
              },
            ]}
          />
        )}
      </Panel>

      <Panel title="Linked access records" flush subtitle={linked.length ? `${linked.length} in total, ${active.length} active.` : undefined}>
        {linked.length === 0 ? (
          <p className="muted small panel-pad">No access record refers to this identity record.</p>
        ) : (
          <DataTable
            rows={linked}
            // The summary's ak is null only in a Data User's listing of others' records; staff see every key.
            rowKey={(r) => r.ak ?? ''}
            onRowClick={(r) => {
              if (r.ak) navigate(`/records/${r.ak}`);
            }}
            columns={[
              accessKeyColumn(),
              { key: 'org', header: 'Organisation', render: (r) => r['lead-controller-name'] ?? r['discovered-access']?.['organisation-name'] ?? '—' },
              { key: 'basis', header: 'Legal basis', render: (r) => legalBasis(r['legal-basis']) },
              { key: 'types', header: 'Data types', render: (r) => <Chips values={r['data-types']} /> },
              { key: 'state', header: 'State', render: (r) => <StatusBadge status={r.state} /> },
              { key: 'expiry', header: 'Expiry', className: 'nowrap', render: (r) => (r.expiry ? fmtDate(r.expiry) : <span className="muted">No end</span>) },
            ]}
          />
        )}
      </Panel>

      <Panel title="Re-identification history" flush>
        {d.tokens.length === 0 ? (
          <p className="muted small panel-pad">The customer has not been asked to confirm who they are yet.</p>
        ) : (
          <DataTable
            rows={d.tokens}
            rowKey={(t) => t['token-ref']}
            columns={[
              { key: 'ref', header: 'Token', render: (t) => <code className="mono-sm">{t['token-ref']}</code> },
              { key: 'method', header: 'Method', render: (t) => METHOD_LABEL[t.method] ?? t.method },
              { key: 'by', header: 'Asked by', render: (t) => t['initiator-display-name'] ?? <code>{t['initiator-account-id']}</code> },
              { key: 'status', header: 'Status', render: (t) => <StatusBadge status={t.status} /> },
              { key: 'created', header: 'Started', render: (t) => <When iso={t['created-at']} compact /> },
              { key: 'confirmed', header: 'Confirmed', render: (t) => <When iso={t['confirmed-at']} compact /> },
              { key: 'used', header: 'Used', render: (t) => <When iso={t['consumed-at']} compact /> },
            ]}
          />
        )}
      </Panel>

      <ConfirmDialog
        open={anonymising}
        onClose={() => setAnonymising(false)}
        title="Anonymise this identity record?"
        confirmLabel="Anonymise permanently"
        busyLabel="Anonymising…"
        tone="danger"
        requireText={pii?.mpxn ?? rec.ir}
        onConfirm={async () => {
          await anonymise.mutateAsync();
          toast('Identity record anonymised');
        }}
        explainError={(err) => (err instanceof ApiError && (err.status === 409 || err.has('CON001')) ? <AnonymiseRefused err={err} active={active} /> : null)}
      >
        <p>
          Anonymisation (GDPR Art. 17) destroys the customer's address, move-in date, e-mail, passkeys and verification evidence. The record id and its links stay for the audit trail. <strong>It cannot be undone.</strong>
        </p>
        <Notice tone={active.length ? 'amber' : 'blue'} title="Active access records block anonymisation">
          {active.length ? (
            <>
              This record still has {active.length} ACTIVE access record{active.length === 1 ? '' : 's'}. The register will refuse (409) until each is revoked or has expired.
            </>
          ) : (
            <>The register refuses (409) while any linked access record is ACTIVE. None is active now.</>
          )}
        </Notice>
      </ConfirmDialog>

      <ConfirmDialog
        open={!!removing}
        onClose={() => setRemoving(null)}
        title="Remove this passkey?"
        confirmLabel="Remove passkey"
        tone="danger"
        onConfirm={async () => {
          if (!removing) return;
          await removePasskey.mutateAsync(removing['credential-id']);
          toast('Passkey removed');
        }}
      >
        <p>
          The customer will no longer be able to confirm who they are with this passkey (<code>{removing?.['credential-id']}</code>). Do this when a device is lost or the customer asks. They can register a new one during a
          re-identification.
        </p>
      </ConfirmDialog>
    </>
  );
}

function AnonymiseRefused({ err, active }: { err: ApiError; active: AccessRecordSummary[] }) {
  return (
    <div className="notice notice-red explained" role="alert">
      <span className="notice-icon">
        <Icon name="ban" size={18} />
      </span>
      <div className="notice-body">
        <div className="notice-title">The register refused: this record still has active access</div>
        <div className="notice-text">
          <p>
            An identity record that is linked to an <strong>ACTIVE</strong> access record cannot be anonymised: the organisations holding that access must still be able to prove whose consent or basis they rely on. Revoke each active record
            (or wait until it expires), then anonymise.
          </p>
          {active.length > 0 && (
            <ul className="plain-list">
              {active.map((r) => (
                <li key={r.ak}>
                  <Link to={`/records/${r.ak}`}>{r['lead-controller-name'] ?? r.ak}</Link> · {legalBasis(r['legal-basis'])}
                  {r.expiry ? ` · until ${fmtDate(r.expiry)}` : ' · no end date'}
                </li>
              ))}
            </ul>
          )}
          <p className="muted small">
            Register's answer: {err.message} <code className="error-code">{err.code}</code>
          </p>
        </div>
      </div>
    </div>
  );
}
