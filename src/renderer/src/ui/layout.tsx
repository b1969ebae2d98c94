import { useEffect, useId, useRef, type KeyboardEvent, type ReactNode } from 'react';
import { Link } from '../lib/router';
import { Icon } from './icons';

export function PageHeader({ title, subtitle, actions, back, meta }: { title: ReactNode; subtitle?: ReactNode; actions?: ReactNode; back?: { to: string; label: string }; meta?: ReactNode }) {
  const ref = useRef<HTMLHeadingElement>(null);
  // Move focus to the new page's heading so keyboard and screen-reader users land on it.
  useEffect(() => {
    ref.current?.focus({ preventScroll: true });
  }, []);
  return (
    <div className="page-header">
      {back && (
        <Link to={back.to} className="back-link">
          <Icon name="arrowLeft" size={15} />
          {back.label}
        </Link>
      )}
      <div className="page-header-row">
        <div className="page-header-text">
          <h1 ref={ref} tabIndex={-1} className="page-title">
            {title}
          </h1>
          {subtitle && <p className="page-subtitle">{subtitle}</p>}
          {meta && <div className="page-meta">{meta}</div>}
        </div>
        {actions && <div className="page-actions">{actions}</div>}
      </div>
    </div>
  );
}

export function Panel({ title, actions, children, className, flush, subtitle, id }: { title?: ReactNode; actions?: ReactNode; children: ReactNode; className?: string; flush?: boolean; subtitle?: ReactNode; id?: string }) {
  const headingId = useId();
  return (
    <section className={`panel${flush ? ' panel-flush' : ''}${className ? ` ${className}` : ''}`} aria-labelledby={title ? headingId : undefined} id={id}>
      {(title || actions) && (
        <header className="panel-header">
          <div>
            {title && (
              <h2 id={headingId} className="panel-title">
                {title}
              </h2>
            )}
            {subtitle && <p className="panel-subtitle">{subtitle}</p>}
          </div>
          {actions && <div className="panel-actions">{actions}</div>}
        </header>
      )}
      <div className="panel-body">{children}</div>
    </section>
  );
}

export function KeyValue({ items, columns = 1 }: { items: Array<[ReactNode, ReactNode] | null | false>; columns?: 1 | 2 | 3 }) {
  return (
    <dl className={`kv kv-cols-${columns}`}>
      {items.filter(Boolean).map((item, i) => {
        const [k, v] = item as [ReactNode, ReactNode];
        return (
          <div className="kv-item" key={i}>
            <dt>{k}</dt>
            <dd>{v === null || v === undefined || v === '' ? <span className="muted">—</span> : v}</dd>
          </div>
        );
      })}
    </dl>
  );
}

export function Toolbar({ children, end }: { children: ReactNode; end?: ReactNode }) {
  return (
    <div className="toolbar">
      <div className="toolbar-filters">{children}</div>
      {end && <div className="toolbar-end">{end}</div>}
    </div>
  );
}

export interface TabDef {
  id: string;
  label: ReactNode;
  count?: number | null;
}

/** Tabs with arrow-key navigation (WAI-ARIA tabs pattern). */
export function Tabs({ tabs, value, onChange, label }: { tabs: TabDef[]; value: string; onChange: (id: string) => void; label: string }) {
  const onKey = (e: KeyboardEvent<HTMLButtonElement>, index: number) => {
    if (e.key !== 'ArrowRight' && e.key !== 'ArrowLeft') return;
    const next = (index + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length;
    onChange(tabs[next].id);
    const el = (e.currentTarget.parentElement?.children[next] as HTMLButtonElement | undefined) ?? null;
    el?.focus();
  };
  return (
    <div className="tabs" role="tablist" aria-label={label}>
      {tabs.map((t, i) => (
        <button key={t.id} type="button" role="tab" aria-selected={t.id === value} tabIndex={t.id === value ? 0 : -1} className={`tab${t.id === value ? ' is-active' : ''}`} onClick={() => onChange(t.id)} onKeyDown={(e) => onKey(e, i)}>
          {t.label}
          {typeof t.count === 'number' && <span className="tab-count">{t.count}</span>}
        </button>
      ))}
    </div>
  );
}

export function Chips({ values, empty = '—' }: { values: string[] | null | undefined; empty?: string }) {
  if (!values || values.length === 0) return <span className="muted">{empty}</span>;
  return (
    <span className="chips">
      {values.map((v) => (
        <span key={v} className="chip">
          {v}
        </span>
      ))}
    </span>
  );
}

export function ExternalLink({ href, children }: { href: string | null | undefined; children?: ReactNode }) {
  if (!href) return <span className="muted">—</span>;
  const safe = /^https?:\/\//i.test(href);
  if (!safe) return <span>{href}</span>;
  const desktop = window.darDesktop;
  return (
    <a
      href={href}
      target="_blank"
      rel="noopener noreferrer"
      className="external-link"
      onClick={(e) => {
        if (desktop) {
          e.preventDefault();
          void desktop.openInBrowser(href);
        }
      }}
    >
      {children ?? href}
      <Icon name="external" size={13} />
    </a>
  );
}

export function JsonBlock({ value, label }: { value: unknown; label?: string }) {
  return (
    <pre className="json" aria-label={label}>
      {JSON.stringify(value, null, 2)}
    </pre>
  );
}

export function Mono({ children }: { children: ReactNode }) {
  return <code className="mono">{children}</code>;
}
