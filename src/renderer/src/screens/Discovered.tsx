import { useIsAdmin } from '../auth';
import { useState } from 'react';
import { useDiscoveredList, useReportChangeOfTenancy, useReportDiscovered } from '../api/discovered';
import { useMode } from '../api/register';
import { DATA_TYPES } from '../api/types';
import { fmtDate } from '../lib/format';
import { accessKeyColumn } from '../ui/columns';
import { href, Link } from '../lib/router';
import { Button, Checkbox, Field, FilterSelect, SearchBox, TextField } from '../ui/controls';
import { Dialog } from '../ui/dialog';
import { Badge, EmptyState, ErrorNotice, Notice, StatusBadge } from '../ui/feedback';
import { Chips, JsonBlock, PageHeader, Panel, Toolbar } from '../ui/layout';
import { PagedTable } from '../ui/table';
import { DataUserName, DateRangeFilter, foundCount, Truncated, useListScreen } from '../ui/listing';
import { useToast } from '../ui/toast';
import { MPXN_PATTERN, ORG_REF_PATTERN } from '../../../shared/values';

const MPXN = new RegExp(MPXN_PATTERN);
// As published: 3–64 letters, digits, _ or -; kept as typed (the register matches it ignoring case).
const ORG_REF = new RegExp(ORG_REF_PATTERN);

export function DiscoveredScreen() {
  const view = useListScreen();
  const { param, filter } = view;
  const q = param('q');
  const superseded = param('superseded');
  const mode = useMode();
  // The sandbox's simulated DCC is for administrators (the register refuses support staff).
  const simulate = useIsAdmin() && mode === 'sandbox';
  const [dialog, setDialog] = useState<'discovered' | 'cot' | null>(null);
  const from = param('from');
  const to = param('to');
  const list = useDiscoveredList({ q: q || undefined, superseded: superseded || undefined, from: from || undefined, to: to || undefined }, view.state);

  return (
    <>
      <PageHeader
        title="Discovered access"
        subtitle="Access the DCC observed on a meter point that no data user had registered. When the organisation registers a full access record, the discovered entry is superseded by it."
        actions={
          simulate && (
            <>
              <Button icon="radar" onClick={() => setDialog('discovered')}>
                Report discovered access
              </Button>
              <Button icon="send" onClick={() => setDialog('cot')}>
                Change of tenancy
              </Button>
            </>
          )
        }
      />
      {simulate && (
        <Notice tone="amber" title="Sandbox: act as the DCC">
          Use <strong>Report discovered access</strong> and <strong>Change of tenancy</strong> to send what the DCC would send (<code>POST /v1/discovered-access</code>, <code>POST /v1/cot-events</code>).
        </Notice>
      )}
      <Panel flush>
        <Toolbar end={foundCount(list.total)}>
          <SearchBox label="Search" {...view.search('q')} placeholder="Part of an MPxN or organisation name, or a reference" width={320} />
          <FilterSelect
            label="Show"
            {...view.select('superseded')}
            options={[
              { value: '', label: 'All' },
              { value: 'false', label: 'Not yet superseded' },
              { value: 'true', label: 'Superseded' },
            ]}
          />
          <DateRangeFilter label="Reported" from={from} to={to} onChange={(f, t) => filter({ from: f, to: t })} />
        </Toolbar>
        <PagedTable
          page={list}
          sort={view.sort}
          controls={view.controls(list, 'discovered records')}
          noun="discovered records"
          caption="Discovered access"
          rowKey={(r) => r.ak}
          rowClassName={(r) => (r['superseded-by'] ? 'row-dim' : undefined)}
          columns={[
            {
              key: 'org',
              header: 'Organisation',
              sortKey: 'organisation',
              render: (r) => (
                <div className="cell-stack">
                  <Truncated className="cell-title" text={r['organisation-name']} width={200} />
                  <span className="cell-sub">
                    <code>{r['organisation-reference']}</code>
                  </span>
                </div>
              ),
            },
            {
              key: 'mpxn',
              header: 'MPxN',
              sortKey: 'mpxn',
              render: (r) => (
                <Link to={href('/records', { q: r.mpxn })}>
                  <code>{r.mpxn}</code>
                </Link>
              ),
            },
            {
              key: 'state',
              header: 'State',
              className: 'col-key',
              render: (r) =>
                r['superseded-by'] ? (
                  <div className="cell-stack">
                    <StatusBadge status="SUPERSEDED" />
                    <span className="cell-sub">
                      by{' '}
                      <Link to={`/records/${r['superseded-by']}`} className="mono-sm">
                        {r['superseded-by']}
                      </Link>
                    </span>
                  </div>
                ) : (
                  <StatusBadge status={r.state || 'DISCOVERED'} />
                ),
            },
            { key: 'last', header: 'Last seen', className: 'nowrap', render: (r) => fmtDate(r['last-seen']) },
            { key: 'types', header: 'Data types observed', render: (r) => <Chips values={r['data-types-observed']} /> },
            { key: 'first', header: 'First seen', className: 'nowrap', render: (r) => fmtDate(r['first-seen']) },
            { key: 'source', header: 'Source', render: (r) => <code className="mono-sm">{r['source-reference']}</code> },
            accessKeyColumn(),
          ]}
          empty={
            <EmptyState icon="radar" title={q || superseded ? 'Nothing matches' : 'No discovered access'}>
              {q || superseded ? 'Try a different search or filter.' : 'The DCC has not reported any unregistered access yet.'}
            </EmptyState>
          }
        />
      </Panel>
      {simulate && (
        <>
          <DiscoveredDialog open={dialog === 'discovered'} onClose={() => setDialog(null)} />
          <CotDialog open={dialog === 'cot'} onClose={() => setDialog(null)} />
        </>
      )}
    </>
  );
}

function today(): string {
  return new Date().toISOString().slice(0, 10);
}

/** The simulated DCC's dialog buttons. */
function SendAsDcc({ onCancel, busy }: { onCancel: () => void; busy: boolean }) {
  return (
    <>
      <Button variant="ghost" onClick={onCancel}>
        Cancel
      </Button>
      <Button type="submit" variant="primary" busy={busy}>
        Send as DCC
      </Button>
    </>
  );
}

function DiscoveredDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const toast = useToast();
  const [v, setV] = useState({ mpxn: '', name: '', ref: '', first: today(), last: '', types: ['HH-CONSUMPTION'] as string[], source: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const send = useReportDiscovered({
    onSuccess: (res) => {
      toast(`Discovered access recorded (${res.ak})`);
      onClose();
    },
  });
  const submit = () => {
    const e: Record<string, string> = {};
    if (!MPXN.test(v.mpxn)) e.mpxn = 'Enter a valid MPAN or MPRN.';
    if (!v.name.trim()) e.name = 'Enter the organisation name.';
    if (!ORG_REF.test(v.ref)) e.ref = '3–64 letters, digits, _ or -, e.g. SEC-OU-00429 or org_abc123def456.';
    if (!v.first) e.first = 'Enter the date first seen.';
    if (v.types.length === 0) e.types = 'Choose at least one data type.';
    if (!v.source.trim()) e.source = 'Enter the DCC source reference.';
    setErrors(e);
    if (Object.keys(e).length === 0)
      send.mutate({
        mpxn: v.mpxn,
        'organisation-name': v.name.trim(),
        'organisation-reference': v.ref,
        'first-seen': v.first,
        ...(v.last ? { 'last-seen': v.last } : {}),
        'data-types-observed': v.types,
        'source-reference': v.source.trim(),
      });
  };
  return (
    <Dialog
      open={open}
      onClose={onClose}
      title="Report discovered access"
      description="As the DCC: an organisation was seen reading this meter point without a registered access record. Reporting the same MPxN and reference again updates it."
      size="lg"
      onSubmit={submit}
      dismissable={!send.isPending}
      footer={<SendAsDcc onCancel={onClose} busy={send.isPending} />}
    >
      <div className="form-grid">
        <TextField label="MPxN" required value={v.mpxn} onChange={(e) => setV({ ...v, mpxn: e.target.value.replace(/\s+/g, '').toUpperCase() })} error={errors.mpxn} autoFocus spellCheck={false} />
        <TextField label="Source reference" required value={v.source} onChange={(e) => setV({ ...v, source: e.target.value })} error={errors.source} placeholder="DCC-OBS-2026-0001" spellCheck={false} />
        <TextField label="Organisation name" required value={v.name} onChange={(e) => setV({ ...v, name: e.target.value })} error={errors.name} />
        <TextField label="Organisation reference" required value={v.ref} onChange={(e) => setV({ ...v, ref: e.target.value.trim() })} error={errors.ref} placeholder="SEC-OU-00429" spellCheck={false} />
        <TextField label="First seen" type="date" required value={v.first} onChange={(e) => setV({ ...v, first: e.target.value })} error={errors.first} />
        <TextField label="Last seen" type="date" value={v.last} onChange={(e) => setV({ ...v, last: e.target.value })} />
        <Field label="Data types observed" required error={errors.types} className="span-2">
          {() => (
            <div className="checkbox-grid" role="group" aria-label="Data types observed">
              {DATA_TYPES.map((t) => (
                <Checkbox key={t} label={<code>{t}</code>} checked={v.types.includes(t)} onChange={(on) => setV({ ...v, types: on ? [...v.types, t] : v.types.filter((x) => x !== t) })} />
              ))}
            </div>
          )}
        </Field>
      </div>
      {send.error ? <ErrorNotice error={send.error} /> : null}
    </Dialog>
  );
}

function CotDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const [v, setV] = useState({ mpxn: '', date: today(), source: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [result, setResult] = useState<Record<string, unknown> | null>(null);
  const send = useReportChangeOfTenancy({
    onSuccess: (res) => {
      const { response: _r, ...rest } = res;
      setResult(rest);
    },
  });
  const close = () => {
    setResult(null);
    send.reset();
    onClose();
  };
  const affected = result ? (result['data-users-notified'] as string[] | undefined) : undefined;
  return (
    <Dialog
      open={open}
      onClose={close}
      title="Change of tenancy"
      description="As the DCC: the occupier of this meter point changed. Data users with ACTIVE records are told by a tenancy.change webhook; nothing is revoked."
      size="md"
      onSubmit={() => {
        if (result) return close();
        const e: Record<string, string> = {};
        if (!MPXN.test(v.mpxn)) e.mpxn = 'Enter a valid MPAN or MPRN.';
        if (!v.date) e.date = 'Enter the effective date.';
        if (!v.source.trim()) e.source = 'Enter the DCC source reference.';
        setErrors(e);
        if (Object.keys(e).length === 0) send.mutate({ mpxn: v.mpxn, 'effective-date': v.date, 'source-reference': v.source.trim() });
      }}
      dismissable={!send.isPending}
      footer={
        result ? (
          <Button type="submit" variant="primary">
            Done
          </Button>
        ) : (
          <SendAsDcc onCancel={close} busy={send.isPending} />
        )
      }
    >
      {result ? (
        <div className="stack">
          <Notice tone="green" title="Change of tenancy recorded">
            {String(result['active-records-affected'] ?? 0)} active record(s) affected; {affected?.length ?? 0} data user(s) notified.
          </Notice>
          {affected && affected.length > 0 && (
            <p>
              Notified:{' '}
              {affected.map((d) => (
                <Badge key={d}>
                  <DataUserName duid={d} />
                </Badge>
              ))}{' '}
              · <Link to={href('/webhooks', { tab: 'deliveries', 'event-type': 'tenancy.change' })}>see deliveries</Link>
            </p>
          )}
          <JsonBlock value={result} />
        </div>
      ) : (
        <div className="form-grid">
          <TextField label="MPxN" required value={v.mpxn} onChange={(e) => setV({ ...v, mpxn: e.target.value.replace(/\s+/g, '').toUpperCase() })} error={errors.mpxn} autoFocus spellCheck={false} />
          <TextField label="Effective date" type="date" required value={v.date} onChange={(e) => setV({ ...v, date: e.target.value })} error={errors.date} />
          <TextField label="Source reference" required value={v.source} onChange={(e) => setV({ ...v, source: e.target.value })} error={errors.source} placeholder="DCC-COT-2026-0001" fieldClassName="span-2" spellCheck={false} />
          {send.error ? (
            <div className="span-2">
              <ErrorNotice error={send.error} />
            </div>
          ) : null}
        </div>
      )}
    </Dialog>
  );
}
