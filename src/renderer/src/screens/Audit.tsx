import { useRef, useState } from 'react';
import { fetchAuditPage, useAuditList, useAuditVerify } from '../api/audit';
import type { AuditEvent } from '../api/types';
import { fmtNumber } from '../lib/format';
import { Link } from '../lib/router';
import { Button, SearchBox } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { EmptyState, ErrorNotice, Notice } from '../ui/feedback';
import { JsonBlock, KeyValue, PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable } from '../ui/table';
import { DateRangeFilter, ExportFooter, ExportProgress, foundCount, saveExport, stamp, StreamExportDialog, Truncated, useListScreen, type ExportPhase } from '../ui/listing';
import { When } from '../ui/time';
import { useToast } from '../ui/toast';
import { csvDocument } from '../../../shared/csv';

const EXPORT_PAGE = 500;

function detailSummary(detail: unknown): string {
  if (detail === null || detail === undefined) return '';
  if (typeof detail !== 'object') return String(detail);
  return Object.entries(detail as Record<string, unknown>)
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' · ');
}

function ChainStatus() {
  const q = useAuditVerify();
  const action = (
    <Button size="sm" variant="ghost" icon="refresh" busy={q.isFetching} onClick={() => void q.refetch()}>
      Verify again
    </Button>
  );
  if (q.isLoading)
    return (
      <Notice tone="blue" title="Verifying the hash chain…">
        Every event stores the hash of the one before; the register is re-computing them.
      </Notice>
    );
  if (q.error) return <ErrorNotice error={q.error} title="The chain could not be verified" onRetry={() => void q.refetch()} />;
  const v = q.data!;
  return v.intact ? (
    <Notice tone="green" title="Audit chain intact" actions={action}>
      {fmtNumber(v.checked)} events checked: none was altered, removed or re-ordered.
    </Notice>
  ) : (
    <Notice tone="red" title="Audit chain broken" actions={action}>
      The chain breaks at event <code>{String(v['first-broken-id'])}</code>
      {v.reason ? `: ${v.reason}` : ''}. Events from there on cannot be trusted; preserve the database file and investigate. ({fmtNumber(v.checked)} checked.)
    </Notice>
  );
}

export function AuditScreen() {
  const view = useListScreen();
  const { param, filter } = view;
  const accountId = param('account-id');
  const eventType = param('event-type');
  const typePrefix = param('event-type-prefix');
  const actor = param('actor');
  const ak = param('ak');
  const from = param('from');
  const to = param('to');
  const filters = {
    'account-id': accountId || undefined,
    'event-type': eventType || undefined,
    'event-type-prefix': typePrefix || undefined,
    actor: actor || undefined,
    ak: ak || undefined,
    from: from || undefined,
    to: to || undefined,
  };
  const list = useAuditList(filters, view.state);
  const [exporting, setExporting] = useState<'csv' | 'json' | null>(null);
  // CSV is streamed by the register (every matching event, one request); JSON is still
  // assembled here page by page.
  const [streaming, setStreaming] = useState(false);
  const filtered = !!(accountId || eventType || typePrefix || actor || ak || from || to);

  return (
    <>
      <PageHeader
        title="Audit log"
        subtitle="Every change of state in the register, who made it and when. Append-only and hash-chained."
        actions={
          <>
            <Button icon="download" onClick={() => setStreaming(true)}>
              Export CSV
            </Button>
            <Button icon="download" onClick={() => setExporting('json')}>
              Export JSON
            </Button>
          </>
        }
      />
      <ChainStatus />
      <Panel flush>
        <Toolbar end={foundCount(list.total, 'events · newest first')}>
          <SearchBox label="Actor contains" value={actor} onSearch={(v) => filter({ actor: v, 'account-id': null })} placeholder="part of an account id" width={190} />
          <SearchBox label="Event type starts with" value={typePrefix} onSearch={(v) => filter({ 'event-type-prefix': v, 'event-type': null })} placeholder="e.g. access-record." width={210} />
          <SearchBox label="Access key" {...view.search('ak')} placeholder="ak_…" width={240} />
          <DateRangeFilter label="When" from={from} to={to} onChange={(f, t) => filter({ from: f, to: t })} />
          {accountId && (
            <Button size="sm" variant="ghost" onClick={() => filter({ 'account-id': null })}>
              Account {accountId} ✕
            </Button>
          )}
        </Toolbar>
        <PagedTable
          page={list}
          noun="events"
          caption="Audit events"
          dense
          rowKey={(e) => String(e.id)}
          columns={[
            { key: 'at', header: 'When (UTC)', render: (e) => <When iso={e.at} compact seconds /> },
            {
              key: 'actor',
              header: 'Actor',
              render: (e) => (
                <button type="button" className="link-button" onClick={() => filter({ 'account-id': e.actor, actor: null })}>
                  {e.actor}
                </button>
              ),
            },
            { key: 'type', header: 'Event', render: (e) => <code>{e['event-type']}</code> },
            {
              key: 'subject',
              header: 'Subject',
              render: (e) =>
                e.ak ? (
                  <Link to={`/records/${e.ak}`} className="mono-sm">
                    {e.ak}
                  </Link>
                ) : e.ir ? (
                  <Link to={`/identity-records/${e.ir}`} className="mono-sm">
                    {e.ir}
                  </Link>
                ) : (
                  <code className="mono-sm">{e.subject ?? '—'}</code>
                ),
            },
            { key: 'detail', header: 'Detail', render: (e) => <Truncated className="small muted" text={detailSummary(e.detail)} width={320} /> },
            {
              key: 'hash',
              header: 'Hash',
              render: (e) => (
                <code className="mono-xs" title={e.hash ?? 'Not linked into the chain yet'}>
                  {e.hash?.slice(0, 10) ?? '(linking)'}
                </code>
              ),
            },
          ]}
          controls={view.controls(list, 'events')}
          expand={(e) => (
            <div className="audit-detail">
              <KeyValue
                columns={2}
                items={[
                  ['Event id', <code>{String(e.id)}</code>],
                  ['Hash', <code className="mono-xs break">{e.hash ?? '(not linked into the chain yet)'}</code>],
                  ['Subject', e.subject],
                  ['Previous hash', <code className="mono-xs break">{e.hash === null ? '(not linked into the chain yet)' : e['prev-hash']}</code>],
                ]}
              />
              {e.detail !== null && e.detail !== undefined && <JsonBlock value={e.detail} />}
            </div>
          )}
          empty={
            filtered ? (
              <EmptyState
                icon="search"
                title="No events match"
                action={<Button onClick={() => filter({ 'account-id': null, 'event-type': null, 'event-type-prefix': null, actor: null, ak: null, from: null, to: null })}>Clear filters</Button>}
              >
                The actor filter matches part of an account id; the event type its start, such as <code>account.</code>; the access key exactly.
              </EmptyState>
            ) : (
              <EmptyState icon="audit" title="No events yet">
                Every change the register makes will be recorded here.
              </EmptyState>
            )
          }
        />
      </Panel>
      <ExportDialog format={exporting} onClose={() => setExporting(null)} filters={filters} total={list.total} />
      <StreamExportDialog
        open={streaming}
        onClose={() => setStreaming(false)}
        path="/admin/audit/export.csv"
        query={filters}
        noun="audit events"
        filename="dar-audit"
        describe={`${list.total !== null ? list.total.toLocaleString('en-GB') : 'All'} audit events${filtered ? ' matching the current filters' : ''}, newest first.`}
      />
    </>
  );
}

/* ---------------------------------------------------------------- export */

const CSV_COLUMNS: Array<keyof AuditEvent> = ['id', 'at', 'actor', 'event-type', 'ak', 'ir', 'subject', 'detail', 'hash', 'prev-hash'];

function toCsv(events: AuditEvent[]): string {
  return csvDocument(
    CSV_COLUMNS,
    events.map((e) => CSV_COLUMNS.map((c) => e[c])),
  );
}

function ExportDialog({ format, onClose, filters, total }: { format: 'csv' | 'json' | null; onClose: () => void; filters: Record<string, string | undefined>; total: number | null }) {
  const toast = useToast();
  const [phase, setPhase] = useState<ExportPhase>('ready');
  const [count, setCount] = useState(0);
  const [error, setError] = useState<unknown>(null);
  const [savedTo, setSavedTo] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  const open = format !== null;
  const active = Object.entries(filters).filter(([, v]) => v);

  const reset = () => {
    setPhase('ready');
    setCount(0);
    setError(null);
    setSavedTo(null);
  };
  const close = () => {
    abort.current?.abort();
    reset();
    onClose();
  };

  const run = async () => {
    if (!format) return;
    const controller = new AbortController();
    abort.current = controller;
    setPhase('running');
    setCount(0);
    setError(null);
    const events: AuditEvent[] = [];
    try {
      let cursor: string | undefined;
      do {
        const page = await fetchAuditPage({ ...filters, limit: EXPORT_PAGE, cursor }, controller.signal);
        events.push(...page.events);
        setCount(events.length);
        cursor = page['next-cursor'] ?? undefined;
      } while (cursor);
      const name = `dar-audit-${stamp()}.${format}`;
      const content = format === 'csv' ? toCsv(events) : `${JSON.stringify({ exported: new Date().toISOString(), filters: Object.fromEntries(active), events }, null, 2)}\n`;
      const blob = new Blob([content], { type: format === 'csv' ? 'text/csv;charset=utf-8' : 'application/json' });
      const savedAs = await saveExport(name, blob, format === 'csv' ? { name: 'CSV', extensions: ['csv'] } : { name: 'JSON', extensions: ['json'] });
      if (savedAs === null) {
        setPhase('ready');
        return;
      }
      setSavedTo(savedAs);
      setPhase('done');
      toast(`Exported ${fmtNumber(events.length)} audit events`);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      setError(err);
      setPhase('failed');
    }
  };

  return (
    <Dialog open={open} onClose={close} title={`Export audit log as ${format === 'json' ? 'JSON' : 'CSV'}`} size="sm" footer={<ExportFooter phase={phase} onClose={close} onRun={() => void run()} />}>
      <div className="stack">
        <p>
          {active.length ? <>Events matching {active.map(([k, v]) => `${k} = ${v}`).join(', ')}</> : 'All events'}
          {total !== null ? ` (${fmtNumber(total)})` : ''}, fetched from the register {EXPORT_PAGE} at a time, with their hashes so the chain can be checked independently.
        </p>
        {total !== null && total > 100_000 && phase === 'ready' && <Notice tone="amber">This is a large export; it may take a few minutes.</Notice>}
        <ExportProgress
          phase={phase}
          value={count}
          max={total}
          status={phase === 'running' ? `Fetched ${fmtNumber(count)}${total !== null ? ` of ${fmtNumber(total)}` : ''} events…` : phase === 'done' ? `${fmtNumber(count)} events exported.` : ''}
          savedTo={savedTo}
          error={error}
        />
      </div>
    </Dialog>
  );
}
