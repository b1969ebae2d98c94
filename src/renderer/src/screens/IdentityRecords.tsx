import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useIsAdmin } from '../auth';
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import type { AccessRecordSummary, Credential, Envelope, IdentityDetail, IdentityRow } from '../api/types';
import { fmtDate, legalBasis, METHOD_LABEL } from '../lib/format';
import { href, Link, navigate, useSearchParams } from '../lib/router';
import { Button, ButtonLink, SearchBox } from '../ui/controls';
import { IdText } from '../ui/copy';
import { ConfirmDialog } from '../ui/dialog';
import { Badge, EmptyState, ErrorNotice, Notice, Spinner, StatusBadge } from '../ui/feedback';
import { Icon } from '../ui/icons';
import { Chips, JsonBlock, KeyValue, PageHeader, Panel, Toolbar } from '../ui/layout';
import { DataTable, PagedTable } from '../ui/table';
import { DateRangeFilter, PageControls, StreamExportDialog, useDataUser, useListState, useTablePage } from '../ui/listing';
import { AccountPicker } from '../ui/picker';
import { When } from '../ui/time';
import { useToast } from '../ui/toast';
import { MPXN_PATTERN } from '../../../shared/values';

const MPXN = new RegExp(MPXN_PATTERN);

/* ------------------------------------------------------------------ list */

export function IdentityListScreen() {
  const [params, setParams] = useSearchParams();
  const mpxn = params.get('mpxn') ?? '';
  const email = params.get('email') ?? '';
  const [draftMpxn, setDraftMpxn] = useState(mpxn);
  const [draftEmail, setDraftEmail] = useState(email);
  const [formError, setFormError] = useState<string | null>(null);
  const q = params.get('q') ?? '';
  const duid = params.get('duid') ?? '';
  const from = params.get('from') ?? '';
  const to = params.get('to') ?? '';
  const dataUser = useDataUser(duid);
  const [listState, setListState] = useListState();
  const [exporting, setExporting] = useState(false);
  // Identity records are personal data: listed only for a search (the register insists too).
  const searching = !!(mpxn || email || q || duid || from || to);
  const filters = { mpxn: mpxn || undefined, email: email || undefined, q: q || undefined, duid: duid || undefined, from: from || undefined, to: to || undefined };
  const list = useTablePage<IdentityRow>(['identity', 'list'], '/admin/identity-records', 'identity-records', filters, listState, { enabled: searching });
  const sortKey = listState.sort ?? 'created';
  const order = listState.order ?? (sortKey === 'created' ? 'desc' : 'asc');
  // A new filter starts again at the first row.
  const filter = (changes: Record<string, string | null>) => setParams({ ...changes, row: null });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const m = draftMpxn.replace(/\s+/g, '').toUpperCase();
    const em = draftEmail.trim();
    if (!m && !em) return setFormError('Enter an MPxN, an e-mail address, or both (or use the filters below).');
    if (m && !MPXN.test(m)) return setFormError('That does not look like an MPAN or MPRN (6–13 digits, or two letters and 8–10 digits).');
    setFormError(null);
    filter({ mpxn: m, email: em });
  };

  return (
    <>
      <PageHeader
        title="Identity records"
        subtitle="Find a customer's identity record across every data user, by meter point or e-mail address, or list a data user's records by part of an MPxN and date."
        actions={
          <Button icon="download" onClick={() => setExporting(true)} disabled={!searching || list.total === 0}>
            Export CSV
          </Button>
        }
      />
      <Panel>
        <form className="search-form" onSubmit={submit} noValidate>
          <div className="field">
            <label className="field-label" htmlFor="ir-mpxn">
              MPxN
            </label>
            <input id="ir-mpxn" className="input" value={draftMpxn} onChange={(e) => setDraftMpxn(e.target.value)} placeholder="e.g. 2312345678901" inputMode="text" spellCheck={false} autoComplete="off" />
          </div>
          <div className="field">
            <label className="field-label" htmlFor="ir-email">
              E-mail address
            </label>
            <input id="ir-email" className="input" type="email" value={draftEmail} onChange={(e) => setDraftEmail(e.target.value)} placeholder="customer@example.com" autoComplete="off" />
          </div>
          <div className="search-form-actions">
            <Button type="submit" variant="primary" icon="search">
              Find
            </Button>
            {searching && (
              <Button
                variant="ghost"
                onClick={() => {
                  setDraftMpxn('');
                  setDraftEmail('');
                  filter({ mpxn: null, email: null, q: null, duid: null, from: null, to: null });
                }}
              >
                Clear
              </Button>
            )}
          </div>
        </form>
        {formError && (
          <p className="field-error" role="alert">
            {formError}
          </p>
        )}
        <p className="muted small">E-mail addresses are matched by keyed hash. Addresses are masked until you press Reveal on a record; every lookup, export and reveal is audited.</p>
      </Panel>
      <Panel flush>
        <Toolbar end={searching && list.total !== null && <span className="muted small">{list.total.toLocaleString('en-GB')} found</span>}>
          <SearchBox label="Meter point contains" value={q} onSearch={(v) => filter({ q: v.replace(/\s+/g, '') })} placeholder="digits of an MPAN or MPRN" width={220} />
          <div className="filter filter-picker">
            <AccountPicker label="Data User" roles={['data_user']} value={duid ? dataUser : null} onChange={(a) => filter({ duid: a?.duid ?? null })} placeholder="Search by name" onlyActive={false} />
          </div>
          <DateRangeFilter label="Created" from={from} to={to} onChange={(f, t) => filter({ from: f, to: t })} />
        </Toolbar>
      </Panel>
      {!searching ? (
        <EmptyState icon="idcard" title="Search for a customer">
          Identity records hold personal data, so the console lists them only for a search. Ask the customer for the MPAN or MPRN on their bill, or the e-mail address they gave their supplier.
        </EmptyState>
      ) : (
        <Panel flush>
          <PagedTable
            page={list}
            noun="identity records"
            rowKey={(r) => r.ir}
            onRowClick={(r) => navigate(`/identity-records/${r.ir}`)}
            caption="Identity records"
            sort={{ key: sortKey, order, onSort: (k, o) => setListState({ sort: k === 'created' && o === 'desc' ? null : k, order: k === 'created' && o === 'desc' ? null : o, offset: 0 }) }}
            controls={<PageControls state={listState} setState={setListState} total={list.total} shown={list.rows.length} noun="identity records" />}
            columns={[
              {
                key: 'ir',
                header: 'Identity record',
                sortKey: 'created',
                firstOrder: 'desc',
                render: (r) => (
                  <div className="cell-stack">
                    <Link to={`/identity-records/${r.ir}`} className="cell-title mono-sm">
                      {r.ir}
                    </Link>
                    <span className="cell-sub">created {fmtDate(r['created-at'])}</span>
                  </div>
                ),
              },
              { key: 'mpxn', header: 'MPxN', sortKey: 'mpxn', className: 'col-key', render: (r) => (r['pii-principal']?.mpxn ? <code>{r['pii-principal'].mpxn}</code> : <span className="muted">—</span>) },
              { key: 'owner', header: 'Data user', render: (r) => r['owner-display-name'] ?? <code>{r.duid}</code> },
              { key: 'postcode', header: 'Postcode', render: (r) => r['pii-principal']?.address?.postcode ?? <span className="muted">—</span> },
              { key: 'email', header: 'E-mail', render: (r) => (r['has-email'] ? <Badge tone="green">On file</Badge> : <span className="muted">None</span>) },
              { key: 'passkeys', header: 'Passkeys', align: 'right', render: (r) => r.credentials?.length ?? 0 },
              { key: 'records', header: 'Access records', align: 'right', render: (r) => r['access-record-count'] ?? '—' },
              { key: 'state', header: 'State', render: (r) => (r['anonymised-at'] ? <StatusBadge status="anonymised" /> : <StatusBadge status="active" />) },
            ]}
            empty={
              <EmptyState icon="search" title="No identity record found">
                No identity record matches {mpxn && email ? 'that MPxN and e-mail' : mpxn ? 'that MPxN' : email ? 'that e-mail address' : 'these filters'}. Check the number with the customer; an anonymised record cannot be found by e-mail.
              </EmptyState>
            }
          />
        </Panel>
      )}
      <StreamExportDialog
        open={exporting}
        onClose={() => setExporting(false)}
        path="/admin/identity-records/export.csv"
        query={{ ...filters, sort: listState.sort ?? undefined, order: listState.order ?? undefined }}
        noun="identity records"
        filename="dar-identity-records"
        describe={`${list.total !== null ? list.total.toLocaleString('en-GB') : 'All'} identity records matching the current search${dataUser ? ` of ${dataUser['display-name']}` : ''}, in the order shown: MPxN, move-in date, data user, whether an e-mail is on file and dates. Addresses and e-mails are not exported; the export is audited.`}
      />
    </>
  );
}

/* ---------------------------------------------------------------- detail */

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
  const qc = useQueryClient();
  const toast = useToast();
  const [anonymising, setAnonymising] = useState(false);
  const [removing, setRemoving] = useState<Credential | null>(null);
  // The register masks the address and e-mail until a person asks to see them; "Reveal"
  // fetches them again with reveal=true, which the register audits (identity-record.read).
  const [revealed, setRevealed] = useState(false);
  const admin = useIsAdmin();
  const query = useQuery({
    queryKey: ['identity', 'detail', ir, revealed],
    queryFn: ({ signal }) => api<Envelope & IdentityDetail>(`/admin/identity-records/${encodeURIComponent(ir)}`, { query: revealed ? { reveal: 'true' } : {}, signal }),
    placeholderData: (prev) => prev,
  });
  const back = { to: '/identity-records', label: 'Identity records' };
  if (query.isLoading) return <Spinner label="Loading identity record…" />;
  if (query.error || !query.data)
    return (
      <>
        <PageHeader title={ir} back={back} />
        <ErrorNotice error={query.error ?? new Error('Not found')} onRetry={() => void query.refetch()} />
      </>
    );
  const d = query.data;
  const rec = d['identity-record'];
  const pii = rec['pii-principal'];
  const verification = rec['principal-verification'];
  const anonymised = !!rec['anonymised-at'];
  const linked = d['access-records'] ?? [];
  const active = activeRecords(linked);
  const refresh = () => {
    void qc.invalidateQueries({ queryKey: ['identity'] });
    void qc.invalidateQueries({ queryKey: ['stats'] });
    void qc.invalidateQueries({ queryKey: ['audit'] });
  };

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
              {
                key: 'ak',
                header: 'Access key',
                render: (r) => (
                  <Link to={`/records/${r.ak}`} className="mono-sm">
                    {r.ak}
                  </Link>
                ),
              },
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
          await api(`/admin/identity-records/${encodeURIComponent(ir)}`, { method: 'DELETE' });
          refresh();
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
          await api(`/admin/identity-records/${encodeURIComponent(ir)}/credentials/${encodeURIComponent(removing['credential-id'])}`, { method: 'DELETE' });
          refresh();
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
