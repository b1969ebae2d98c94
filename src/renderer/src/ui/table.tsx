import { Fragment, useState, type MouseEvent, type ReactNode } from 'react';
import type { PagedList } from '../api/hooks';
import { fmtNumber } from '../lib/format';
import { Button } from './controls';
import { ErrorNotice, Spinner } from './feedback';
import { Icon } from './icons';

export interface Column<T> {
  key: string;
  header: ReactNode;
  render: (row: T) => ReactNode;
  width?: string | number;
  align?: 'left' | 'right' | 'center';
  className?: string;
  /** The register's sort name for this column; the header then sorts by it. */
  sortKey?: string;
  /** Which way a first click sorts (default ascending). */
  firstOrder?: 'asc' | 'desc';
}

/** The sort shown in the headers: a column's sortKey and direction. */
export interface TableSort {
  key: string;
  order: 'asc' | 'desc';
  onSort: (key: string, order: 'asc' | 'desc') => void;
}

interface TableProps<T> {
  columns: Column<T>[];
  rows: T[];
  rowKey: (row: T) => string;
  /** Whole-row click (the row's first link stays the keyboard route). */
  onRowClick?: (row: T) => void;
  /** Content shown under a row when expanded. */
  expand?: (row: T) => ReactNode;
  caption?: string;
  rowClassName?: (row: T) => string | undefined;
  dense?: boolean;
  sort?: TableSort;
}

function fromInteractive(e: MouseEvent): boolean {
  return !!(e.target as HTMLElement).closest('a, button, input, select, textarea, label');
}

export function DataTable<T>({ columns, rows, rowKey, onRowClick, expand, caption, rowClassName, dense, sort }: TableProps<T>) {
  const [open, setOpen] = useState<Set<string>>(new Set());
  const toggle = (key: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(key)) n.delete(key);
      else n.add(key);
      return n;
    });
  const colCount = columns.length + (expand ? 1 : 0);
  return (
    <div className="table-wrap">
      <table className={`table${dense ? ' table-dense' : ''}`}>
        {caption && <caption className="sr-only">{caption}</caption>}
        <thead>
          <tr>
            {expand && (
              <th className="col-expand">
                <span className="sr-only">Details</span>
              </th>
            )}
            {columns.map((c) => {
              const active = sort && c.sortKey && sort.key === c.sortKey;
              return (
                <th key={c.key} style={{ width: c.width, textAlign: c.align }} scope="col" className={c.className} aria-sort={active ? (sort.order === 'asc' ? 'ascending' : 'descending') : undefined}>
                  {sort && c.sortKey ? (
                    <button
                      type="button"
                      className={`th-sort${active ? ' is-active' : ''}`}
                      onClick={() => sort.onSort(c.sortKey!, active ? (sort.order === 'asc' ? 'desc' : 'asc') : (c.firstOrder ?? 'asc'))}
                      title={`Sort by ${typeof c.header === 'string' ? c.header.toLowerCase() : c.key}`}
                    >
                      {c.header}
                      <span className="th-sort-mark" aria-hidden="true">
                        {active ? (sort.order === 'asc' ? '▲' : '▼') : '↕'}
                      </span>
                    </button>
                  ) : (
                    c.header
                  )}
                </th>
              );
            })}
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const key = rowKey(row);
            const isOpen = open.has(key);
            return (
              <Fragment key={key}>
                <tr
                  className={`${onRowClick || expand ? 'is-clickable' : ''} ${isOpen ? 'is-open' : ''} ${rowClassName?.(row) ?? ''}`}
                  onClick={(e) => {
                    if (fromInteractive(e)) return;
                    if (onRowClick) onRowClick(row);
                    else if (expand) toggle(key);
                  }}
                >
                  {expand && (
                    <td className="col-expand">
                      <button type="button" className="icon-button" aria-expanded={isOpen} aria-label={isOpen ? 'Hide details' : 'Show details'} onClick={() => toggle(key)}>
                        <Icon name={isOpen ? 'chevronDown' : 'chevronRight'} size={16} />
                      </button>
                    </td>
                  )}
                  {columns.map((c) => (
                    <td key={c.key} style={{ textAlign: c.align }} className={c.className}>
                      {c.render(row)}
                    </td>
                  ))}
                </tr>
                {expand && isOpen && (
                  <tr className="row-detail">
                    <td colSpan={colCount}>{expand(row)}</td>
                  </tr>
                )}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** "Showing 50 of 1,204" and a Load more button that fetches the next page from the register. */
export function ListFooter({ list, noun }: { list: PagedList<unknown>; noun: string }) {
  if (!list.loaded || list.items.length === 0) return null;
  return (
    <div className="list-footer">
      <span className="muted">
        Showing {fmtNumber(list.items.length)}
        {list.total !== null ? ` of ${fmtNumber(list.total)}` : ''} {noun}
        {list.hasMore ? '' : list.items.length > 0 ? ' · end of list' : ''}
      </span>
      {list.hasMore && (
        <Button size="sm" onClick={list.loadMore} busy={list.loadingMore} icon="chevronDown">
          Load more
        </Button>
      )}
    </div>
  );
}

/** Loading, error and empty states around a paged table. */
export function ListView<T>({ list, empty, noun, ...table }: Omit<TableProps<T>, 'rows'> & { list: PagedList<T>; empty: ReactNode; noun: string }) {
  if (list.isLoading) return <Spinner label={`Loading ${noun}…`} />;
  if (list.error && !list.loaded) return <ErrorNotice error={list.error} onRetry={list.refetch} />;
  if (list.items.length === 0) return <>{empty}</>;
  return (
    <>
      {list.error ? <ErrorNotice error={list.error} onRetry={list.refetch} /> : null}
      <DataTable {...table} rows={list.items} />
      <ListFooter list={list as PagedList<unknown>} noun={noun} />
    </>
  );
}

/** Loading, error and empty states around one page of a sorted server-side list, with its page controls. */
export function PagedTable<T>({
  page,
  empty,
  noun,
  controls,
  ...table
}: Omit<TableProps<T>, 'rows'> & { page: { rows: T[]; isLoading: boolean; error: unknown; refetch: () => void; isFetching: boolean }; empty: ReactNode; noun: string; controls: ReactNode }) {
  if (page.isLoading) return <Spinner label={`Loading ${noun}…`} />;
  if (page.error && page.rows.length === 0) return <ErrorNotice error={page.error} onRetry={page.refetch} />;
  if (page.rows.length === 0) return <>{empty}</>;
  return (
    <>
      {page.error ? <ErrorNotice error={page.error} onRetry={page.refetch} /> : null}
      <div className={page.isFetching ? 'is-refreshing' : undefined} aria-busy={page.isFetching || undefined}>
        <DataTable {...table} rows={page.rows} />
      </div>
      {controls}
    </>
  );
}
