import { useState } from 'react';
import { RECORD_STATES } from '../../../shared/vocabulary';
import { useDataUser } from '../api/accounts';
import { useRecordList } from '../api/records';
import { LEGAL_BASES } from '../api/types';
import { fmtDate, fmtNumber, legalBasis, LEGAL_BASIS_LABEL } from '../lib/format';
import { accessKeyColumn } from '../ui/columns';
import { navigate } from '../lib/router';
import { Button, FilterSelect, SearchBox } from '../ui/controls';
import { EmptyState, StatusBadge, statusOptions } from '../ui/feedback';
import { PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable } from '../ui/table';
import { DateRangeFilter, foundCount, StreamExportDialog, Truncated, useListScreen } from '../ui/listing';
import { DataUserFilter } from '../ui/picker';

/* ------------------------------------------------------------------ list */

export function RecordListScreen() {
  const view = useListScreen();
  const { param, filter } = view;
  const [exporting, setExporting] = useState(false);
  const q = param('q');
  const state = param('state');
  const basis = param('legal-basis');
  const duid = param('duid');
  const from = param('from');
  const to = param('to');
  const dataUser = useDataUser(duid);
  const filters = { q: q || undefined, state: state || undefined, 'legal-basis': basis || undefined, duid: duid || undefined, from: from || undefined, to: to || undefined };
  const page = useRecordList(filters, view.state);
  const filtered = !!(q || state || basis || duid || from || to);

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
        <Toolbar end={foundCount(page.total)}>
          <SearchBox label="Search" {...view.search('q')} placeholder="MPxN, ak_…, purpose or organisation" width={300} />
          <FilterSelect label="State" {...view.select('state')} options={statusOptions(RECORD_STATES, 'Any state')} />
          <FilterSelect label="Legal basis" {...view.select('legal-basis')} options={[{ value: '', label: 'Any basis' }, ...LEGAL_BASES.map((b) => ({ value: b, label: LEGAL_BASIS_LABEL[b] }))]} />
          <DataUserFilter duid={duid} dataUser={dataUser} onChange={(d) => filter({ duid: d })} />
          <DateRangeFilter label="Created" from={from} to={to} onChange={(f, t) => filter({ from: f, to: t })} />
        </Toolbar>
        <PagedTable
          page={page}
          noun="access records"
          caption="Access records"
          rowKey={(r) => r.ak}
          onRowClick={(r) => navigate(`/records/${r.ak}`)}
          rowClassName={(r) => (r.state === 'EXPIRED' || r.state === 'REVOKED' ? 'row-dim' : undefined)}
          sort={view.sort}
          columns={[
            accessKeyColumn(),
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
          controls={view.controls(page, 'access records')}
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
        query={view.exportQuery(filters)}
        noun="access records"
        filename="dar-access-records"
        describe={`${page.total !== null ? fmtNumber(page.total) : 'All'} access records${filtered ? ' matching the current filters' : ''}${dataUser ? ` of ${dataUser['display-name']}` : ''}, in the order shown.`}
      />
    </>
  );
}
