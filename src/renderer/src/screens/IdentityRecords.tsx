import { useState, type FormEvent } from 'react';
import { MPXN_PATTERN } from '../../../shared/values';
import { useDataUser } from '../api/accounts';
import { useIdentityList } from '../api/identity';
import { fmtDate } from '../lib/format';
import { Link, navigate } from '../lib/router';
import { Button, SearchBox } from '../ui/controls';
import { Badge, EmptyState, StatusBadge } from '../ui/feedback';
import { PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable } from '../ui/table';
import { DateRangeFilter, foundCount, StreamExportDialog, useListScreen } from '../ui/listing';
import { DataUserFilter } from '../ui/picker';

const MPXN = new RegExp(MPXN_PATTERN);

/* ------------------------------------------------------------------ list */

export function IdentityListScreen() {
  const view = useListScreen();
  const { param, filter } = view;
  const mpxn = param('mpxn');
  const email = param('email');
  const [draftMpxn, setDraftMpxn] = useState(mpxn);
  const [draftEmail, setDraftEmail] = useState(email);
  const [formError, setFormError] = useState<string | null>(null);
  const q = param('q');
  const duid = param('duid');
  const from = param('from');
  const to = param('to');
  const dataUser = useDataUser(duid);
  const [exporting, setExporting] = useState(false);
  // Identity records are personal data: listed only for a search (the register insists too).
  const searching = !!(mpxn || email || q || duid || from || to);
  const filters = { mpxn: mpxn || undefined, email: email || undefined, q: q || undefined, duid: duid || undefined, from: from || undefined, to: to || undefined };
  const list = useIdentityList(filters, view.state, searching);

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
        <Toolbar end={searching && foundCount(list.total)}>
          <SearchBox label="Meter point contains" value={q} onSearch={(v) => filter({ q: v.replace(/\s+/g, '') })} placeholder="digits of an MPAN or MPRN" width={220} />
          <DataUserFilter duid={duid} dataUser={dataUser} onChange={(d) => filter({ duid: d })} />
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
            sort={view.sort}
            controls={view.controls(list, 'identity records')}
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
        query={view.exportQuery(filters)}
        noun="identity records"
        filename="dar-identity-records"
        describe={`${list.total !== null ? list.total.toLocaleString('en-GB') : 'All'} identity records matching the current search${dataUser ? ` of ${dataUser['display-name']}` : ''}, in the order shown: MPxN, move-in date, data user, whether an e-mail is on file and dates. Addresses and e-mails are not exported; the export is audited.`}
      />
    </>
  );
}
