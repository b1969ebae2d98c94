/**
 * Lists at scale (docs/api.md "Admin lists"): one page of a server-side list at a time, sorted
 * and filtered by the register, with page sizes, a jump to any row, and a CSV export streamed
 * from the register with its progress shown. Sort, page size and row live in the URL with the
 * filters, so a view can be bookmarked, shared and restored after navigation.
 */
import { useEffect, useId, useRef, useState } from 'react';
import { ApiError, bearerToken, buildUrl, type QueryValue } from '../api/client';
import { useDataUser } from '../api/accounts';
import type { ListState } from '../api/hooks';
import { fmtNumber } from '../lib/format';
import { useSearchParams } from '../lib/router';
import { Button } from './controls';
import type { TableSort } from './table';
import { Dialog } from './dialog';
import { ErrorNotice, Notice, Progress } from './feedback';
import { useToast } from './toast';

export const PAGE_SIZES = [25, 50, 100, 200] as const;
const DEFAULT_SIZE = 50;

/** The list's sort, order, page size and first row, read from and written to the URL. */
export function useListState(): [ListState, (changes: Partial<{ sort: string | null; order: 'asc' | 'desc' | null; size: number; offset: number }>) => void] {
  const [params, setParams] = useSearchParams();
  const size = Number(params.get('size'));
  const row = Number(params.get('row'));
  const state: ListState = {
    sort: params.get('sort'),
    order: params.get('order') === 'asc' ? 'asc' : params.get('order') === 'desc' ? 'desc' : null,
    size: (PAGE_SIZES as readonly number[]).includes(size) ? size : DEFAULT_SIZE,
    offset: Number.isSafeInteger(row) && row > 1 ? row - 1 : 0,
  };
  const set = (changes: Partial<{ sort: string | null; order: 'asc' | 'desc' | null; size: number; offset: number }>) => {
    const out: Record<string, string | null> = {};
    if ('sort' in changes) out.sort = changes.sort ?? null;
    if ('order' in changes) out.order = changes.order ?? null;
    if ('size' in changes) out.size = changes.size === DEFAULT_SIZE ? null : String(changes.size);
    if ('offset' in changes) out.row = changes.offset ? String(changes.offset + 1) : null;
    setParams(out);
  };
  return [state, set];
}

/**
 * A paged list screen's state, all in the URL: its filters (`param`; `filter` changes some and
 * goes back to the first row), its sort (newest first until a column is chosen) and its page.
 */
export function useListScreen() {
  const [params, setParams] = useSearchParams();
  const [state, setState] = useListState();
  const key = state.sort ?? 'created';
  const order = state.order ?? (key === 'created' ? 'desc' : 'asc');
  const sort: TableSort = { key, order, onSort: (k, o) => setState({ sort: k === 'created' && o === 'desc' ? null : k, order: k === 'created' && o === 'desc' ? null : o, offset: 0 }) };
  return {
    params,
    setParams,
    param: (name: string) => params.get(name) ?? '',
    state,
    setState,
    // A new filter starts again at the first row.
    filter: (changes: Record<string, string | null>) => setParams({ ...changes, row: null }),
    sort,
    /** A filter select bound to the URL parameter `name`. */
    select: (name: string) => ({ value: params.get(name) ?? '', onChange: (v: string) => setParams({ [name]: v, row: null }) }),
    /** A search box bound to the URL parameter `name`. */
    search: (name: string) => ({ value: params.get(name) ?? '', onSearch: (v: string) => setParams({ [name]: v, row: null }) }),
    /** The sort as the register's CSV export takes it, beside the filters. */
    exportQuery: (filters: Record<string, QueryValue>) => ({ ...filters, sort: state.sort ?? undefined, order: state.order ?? undefined }),
    controls: (page: { total: number | null; rows: unknown[] }, noun: string) => <PageControls state={state} setState={setState} total={page.total} shown={page.rows.length} noun={noun} />,
  };
}

/** "1,234 found" at the end of a list's toolbar, once the register said how many. */
export function foundCount(total: number | null, what = 'found') {
  return total !== null && <span className="muted small">{`${total.toLocaleString('en-GB')} ${what}`}</span>;
}

/** "Rows 2,001–2,050 of 100,000", previous/next, page size and "Go to row". */
export function PageControls({ state, setState, total, shown, noun }: { state: ListState; setState: ReturnType<typeof useListState>[1]; total: number | null; shown: number; noun: string }) {
  const id = useId();
  const [row, setRow] = useState('');
  const first = total === 0 ? 0 : state.offset + 1;
  const last = state.offset + shown;
  const lastPageStart = total && total > 0 ? Math.floor((total - 1) / state.size) * state.size : 0;
  const go = () => {
    const n = Number(row.replace(/[,\s]/g, ''));
    if (!Number.isSafeInteger(n) || n < 1) return;
    const target = total !== null ? Math.min(n, Math.max(total, 1)) : n;
    setState({ offset: target - 1 });
    setRow('');
  };
  return (
    <div className="page-controls" role="navigation" aria-label={`Pages of ${noun}`}>
      <span className="muted" aria-live="polite" data-testid="page-range">
        {total === null ? '' : total === 0 ? `No ${noun}` : `Rows ${fmtNumber(first)}–${fmtNumber(last)} of ${fmtNumber(total)}`}
      </span>
      <div className="page-buttons">
        <Button size="sm" variant="ghost" disabled={state.offset === 0} onClick={() => setState({ offset: 0 })} aria-label="First page">
          «
        </Button>
        <Button size="sm" disabled={state.offset === 0} onClick={() => setState({ offset: Math.max(0, state.offset - state.size) })}>
          Previous
        </Button>
        <Button size="sm" disabled={total === null || last >= total} onClick={() => setState({ offset: state.offset + state.size })}>
          Next
        </Button>
        <Button size="sm" variant="ghost" disabled={total === null || last >= total} onClick={() => setState({ offset: lastPageStart })} aria-label="Last page">
          »
        </Button>
      </div>
      <form
        className="page-jump"
        onSubmit={(e) => {
          e.preventDefault();
          go();
        }}
      >
        <label htmlFor={`${id}-row`} className="filter-label">
          Go to row
        </label>
        <input id={`${id}-row`} className="input input-sm" inputMode="numeric" value={row} onChange={(e) => setRow(e.target.value)} placeholder="e.g. 2000" style={{ width: 90 }} />
        <Button size="sm" type="submit">
          Go
        </Button>
      </form>
      <div className="page-size">
        <label htmlFor={`${id}-size`} className="filter-label">
          Rows per page
        </label>
        <select id={`${id}-size`} className="input select input-sm" value={state.size} onChange={(e) => setState({ size: Number(e.target.value), offset: Math.floor(state.offset / Number(e.target.value)) * Number(e.target.value) })}>
          {PAGE_SIZES.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
    </div>
  );
}

/** From/to date inputs (YYYY-MM-DD); the register includes the whole `to` day. */
export function DateRangeFilter({ label, from, to, onChange }: { label: string; from: string; to: string; onChange: (from: string, to: string) => void }) {
  const id = useId();
  return (
    <fieldset className="filter date-range">
      <legend className="filter-label">{label}</legend>
      <div className="date-range-inputs">
        <label htmlFor={`${id}-from`} className="sr-only">
          {label} from
        </label>
        <input id={`${id}-from`} type="date" className="input input-sm" value={from} max={to || undefined} onChange={(e) => onChange(e.target.value, to)} />
        <span aria-hidden="true">–</span>
        <label htmlFor={`${id}-to`} className="sr-only">
          {label} to
        </label>
        <input id={`${id}-to`} type="date" className="input input-sm" value={to} min={from || undefined} onChange={(e) => onChange(from, e.target.value)} />
      </div>
    </fieldset>
  );
}

/** A file name's time stamp: 20260130-1412. */
export function stamp(): string {
  return new Date().toISOString().slice(0, 16).replace(/[-:]/g, '').replace('T', '-');
}

/**
 * Exports the current filter as CSV, streamed by the register: the console reads the response
 * as it arrives and shows rows and bytes against the total the register announced
 * (X-Total-Count), then saves the file.
 */
export function StreamExportDialog({ open, onClose, path, query, noun, filename, describe }: { open: boolean; onClose: () => void; path: string; query: Record<string, QueryValue>; noun: string; filename: string; describe: string }) {
  const toast = useToast();
  const [phase, setPhase] = useState<ExportPhase>('ready');
  const [rows, setRows] = useState(0);
  const [bytes, setBytes] = useState(0);
  const [total, setTotal] = useState<number | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [savedTo, setSavedTo] = useState<string | null>(null);
  const abort = useRef<AbortController | null>(null);
  useEffect(() => () => abort.current?.abort(), []);

  const close = () => {
    abort.current?.abort();
    setPhase('ready');
    setRows(0);
    setBytes(0);
    setTotal(null);
    setError(null);
    setSavedTo(null);
    onClose();
  };

  const run = async () => {
    const controller = new AbortController();
    abort.current = controller;
    setPhase('running');
    setRows(0);
    setBytes(0);
    setError(null);
    try {
      const token = bearerToken();
      const res = await fetch(buildUrl(path, query), { headers: token ? { Authorization: `Bearer ${token}` } : {}, signal: controller.signal, credentials: 'omit' });
      if (!res.ok || !res.body) {
        const body = (await res.json().catch(() => null)) as { errors?: { 'error-code': string; message: string }[] } | null;
        throw new ApiError(
          res.status,
          (body?.errors ?? []).map((e) => ({ code: e['error-code'], message: e.message })),
        );
      }
      const announced = Number(res.headers.get('x-total-count'));
      setTotal(Number.isFinite(announced) ? announced : null);
      const reader = res.body.getReader();
      const parts: BlobPart[] = [];
      let seen = 0;
      let lines = 0;
      let lastPaint = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        parts.push(value);
        seen += value.byteLength;
        // Rows end with CRLF; a CR inside a quoted field is never followed by LF there
        // (csvField keeps values verbatim, but line breaks inside values are rare enough
        // that the count is a progress indicator, not the result).
        for (let i = 0; i < value.length; i++) if (value[i] === 10) lines++;
        const now = performance.now();
        if (now - lastPaint > 100) {
          lastPaint = now;
          setBytes(seen);
          setRows(Math.max(0, lines - 1));
        }
      }
      setBytes(seen);
      setRows(Math.max(0, lines - 1));
      const name = `${filename}-${stamp()}.csv`;
      // The register names the type (CSV, UTF-8); the console saves what it sent.
      const blob = new Blob(parts, { type: res.headers.get('content-type') ?? '' });
      const savedAs = await saveExport(name, blob, { name: 'CSV', extensions: ['csv'] });
      if (savedAs === null) {
        setPhase('ready');
        return;
      }
      setSavedTo(savedAs);
      setPhase('done');
      toast(`Exported ${fmtNumber(Math.max(0, lines - 1))} ${noun}`);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      setError(err);
      setPhase('failed');
    }
  };

  const kb = (n: number) => (n < 1024 * 1024 ? `${fmtNumber(Math.round(n / 1024))} KB` : `${(n / 1024 / 1024).toFixed(1)} MB`);
  return (
    <Dialog open={open} onClose={close} title={`Export ${noun} as CSV`} size="sm" footer={<ExportFooter phase={phase} onClose={close} onRun={() => void run()} />}>
      <div className="stack">
        <p>{describe} The register streams the file in the list's order; nothing is left out because of paging.</p>
        <ExportProgress
          phase={phase}
          value={rows}
          max={total}
          status={phase === 'running' ? `Received ${fmtNumber(rows)}${total !== null ? ` of ${fmtNumber(total)}` : ''} ${noun} (${kb(bytes)})…` : phase === 'done' ? `${fmtNumber(rows)} ${noun} exported (${kb(bytes)}).` : ''}
          savedTo={savedTo}
          error={error}
        />
      </div>
    </Dialog>
  );
}

/** Text cut to its column with an ellipsis; the whole text is in the tooltip. */
export function Truncated({ text, className, width }: { text: string | null | undefined; className?: string; width?: number }) {
  if (!text) return <span className="muted">—</span>;
  return (
    <span className={`cell-trunc${className ? ` ${className}` : ''}`} title={text} style={width ? { maxWidth: width } : undefined}>
      {text}
    </span>
  );
}

/** A Data User's name where the register knows it (the DUID in the tooltip), else the DUID. */
export function DataUserName({ duid }: { duid: string }) {
  const account = useDataUser(duid);
  return <span title={duid}>{account ? account['display-name'] : duid}</span>;
}

/** Where an export went: the desktop app's save dialog (its path), else a browser download (its name); null if cancelled. */
export async function saveExport(name: string, blob: Blob, filter: { name: string; extensions: string[] }): Promise<string | null> {
  const desktop = window.darDesktop;
  if (desktop) {
    const saved = await desktop.saveExport({ defaultName: name, content: await blob.text(), filter });
    return saved.saved ? saved.path : null;
  }
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}

/** An export dialog's buttons: Cancel / Export (Try again after a failure), then Done. */
export function ExportFooter({ phase, onClose, onRun }: { phase: ExportPhase; onClose: () => void; onRun: () => void }) {
  return phase === 'done' ? (
    <Button variant="primary" onClick={onClose}>
      Done
    </Button>
  ) : (
    <>
      <Button variant="ghost" onClick={onClose}>
        {phase === 'running' ? 'Cancel export' : 'Cancel'}
      </Button>
      <Button variant="primary" icon="download" busy={phase === 'running'} onClick={onRun}>
        {phase === 'failed' ? 'Try again' : 'Export'}
      </Button>
    </>
  );
}

export type ExportPhase = 'ready' | 'running' | 'done' | 'failed';

/** An export dialog's progress bar and status, where the file went, and why it failed. */
export function ExportProgress({ phase, value, max, status, savedTo, error }: { phase: ExportPhase; value: number; max: number | null; status: string; savedTo: string | null; error: unknown }) {
  return (
    <>
      {phase !== 'ready' && (
        <div className="export-progress">
          <Progress value={value} max={max} label="Export progress" />
          <span className="muted small" role="status" data-testid="export-status">
            {status}
          </span>
        </div>
      )}
      {phase === 'done' && savedTo && (
        <Notice tone="green" title={window.darDesktop ? 'Saved' : 'Downloaded'}>
          <code className="break">{savedTo}</code>
        </Notice>
      )}
      {error ? <ErrorNotice error={error} /> : null}
    </>
  );
}
