import type { ReactNode } from 'react';
import { ApiError } from '../api/client';
import { Button } from './controls';
import { Icon, type IconName } from './icons';
import { PageHeader } from './layout';

export type Tone = 'neutral' | 'green' | 'amber' | 'red' | 'blue' | 'purple' | 'grey';

export function Badge({ tone = 'neutral', children, dot, title }: { tone?: Tone; children: ReactNode; dot?: boolean; title?: string }) {
  return (
    <span className={`badge badge-${tone}`} title={title}>
      {dot && <span className="badge-dot" aria-hidden="true" />}
      {children}
    </span>
  );
}

const STATUS_TONE: Record<string, Tone> = {
  active: 'green',
  ACTIVE: 'green',
  suspended: 'amber',
  terminated: 'grey',
  EXPIRED: 'grey',
  REVOKED: 'red',
  DISCOVERED: 'purple',
  SUPERSEDED: 'grey',
  pending: 'amber',
  confirmed: 'green',
  expired: 'grey',
  cancelled: 'grey',
  consumed: 'blue',
  delivered: 'green',
  undelivered: 'red',
  sent: 'green',
  captured: 'blue',
  failed: 'red',
  queued: 'amber',
  retrying: 'amber',
  verified: 'green',
  partial: 'amber',
  anonymised: 'grey',
};

const STATUS_LABEL: Record<string, string> = {
  active: 'Active',
  suspended: 'Suspended',
  terminated: 'Terminated',
  ACTIVE: 'Active',
  EXPIRED: 'Expired',
  REVOKED: 'Revoked',
  DISCOVERED: 'Discovered',
  SUPERSEDED: 'Superseded',
  pending: 'Pending',
  confirmed: 'Confirmed',
  expired: 'Expired',
  consumed: 'Used',
  cancelled: 'Cancelled',
  delivered: 'Delivered',
  undelivered: 'Undelivered',
  sent: 'Sent',
  captured: 'Captured',
  failed: 'Failed',
  queued: 'Queued',
  retrying: 'Retrying',
  verified: 'Verified',
  partial: 'Partial',
  anonymised: 'Anonymised',
};

/** A status as the console names it (badges and filters agree). */
export function statusLabel(status: string): string {
  return STATUS_LABEL[status] ?? status;
}

/**
 * A status filter's options: "any" first, then each value of the vocabulary (src/shared/vocabulary.ts)
 * with its label, or the screen's own wording where it says more.
 */
export function statusOptions(values: readonly string[], anyLabel: string, labels: Record<string, string> = {}): Array<{ value: string; label: string }> {
  return [{ value: '', label: anyLabel }, ...values.map((v) => ({ value: v, label: labels[v] ?? statusLabel(v) }))];
}

export function StatusBadge({ status }: { status: string | null | undefined }) {
  if (!status) return <span className="muted">—</span>;
  return (
    <Badge tone={STATUS_TONE[status] ?? 'neutral'} dot>
      {statusLabel(status)}
    </Badge>
  );
}

export function Spinner({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="loading" role="status">
      <span className="spinner" aria-hidden="true" />
      <span>{label}</span>
    </div>
  );
}

export function Notice({ tone = 'blue', title, children, icon, actions }: { tone?: 'blue' | 'amber' | 'red' | 'green' | 'grey'; title?: ReactNode; children?: ReactNode; icon?: IconName; actions?: ReactNode }) {
  const defaultIcon: IconName = tone === 'red' || tone === 'amber' ? 'alert' : tone === 'green' ? 'check' : 'info';
  return (
    <div className={`notice notice-${tone}`} role={tone === 'red' ? 'alert' : 'status'}>
      <span className="notice-icon">
        <Icon name={icon ?? defaultIcon} size={18} />
      </span>
      <div className="notice-body">
        {title && <div className="notice-title">{title}</div>}
        {children && <div className="notice-text">{children}</div>}
      </div>
      {actions && <div className="notice-actions">{actions}</div>}
    </div>
  );
}

/** The register's own message(s), with the error code; never a stack. */
export function ErrorNotice({ error, title, onRetry }: { error: unknown; title?: string; onRetry?: () => void }) {
  if (!error) return null;
  const entries = error instanceof ApiError ? error.errors : [{ code: '', message: error instanceof Error ? error.message : 'Something went wrong.' }];
  const missing = error instanceof ApiError && error.status === 404 && entries.every((e) => /route|not found \(the register/i.test(e.message));
  return (
    <Notice
      tone="red"
      title={title ?? (missing ? 'This part of the register is not available' : 'The register could not do that')}
      actions={
        onRetry && (
          <Button size="sm" variant="ghost" icon="refresh" onClick={onRetry}>
            Try again
          </Button>
        )
      }
    >
      {entries.length === 1 ? (
        <span>
          {entries[0].message}
          {entries[0].code && <code className="error-code">{entries[0].code}</code>}
        </span>
      ) : (
        <ul className="error-list">
          {entries.map((e, i) => (
            <li key={i}>
              {e.message}
              {e.code && <code className="error-code">{e.code}</code>}
            </li>
          ))}
        </ul>
      )}
    </Notice>
  );
}

export function EmptyState({ icon = 'info', title, children, action }: { icon?: IconName; title: ReactNode; children?: ReactNode; action?: ReactNode }) {
  return (
    <div className="empty">
      <div className="empty-icon">
        <Icon name={icon} size={26} />
      </div>
      <div className="empty-title">{title}</div>
      {children && <div className="empty-text">{children}</div>}
      {action && <div className="empty-action">{action}</div>}
    </div>
  );
}

export function Progress({ value, max, label }: { value: number; max: number | null; label?: string }) {
  const pct = max && max > 0 ? Math.min(100, Math.round((value / max) * 100)) : null;
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={max ?? undefined} aria-valuenow={value} aria-label={label}>
      <div className={`progress-bar${pct === null ? ' is-indeterminate' : ''}`} style={pct === null ? undefined : { width: `${pct}%` }} />
    </div>
  );
}

/**
 * Whether the register answered the latest poll. A refused connection, a timeout or a 5xx
 * means it did not; a 4xx is an answer (the register is up and said no).
 */
export function registerAnswering(failure: unknown): boolean {
  if (!failure) return true;
  if (failure instanceof ApiError) return failure.status > 0 && failure.status < 500;
  return (failure as Error)?.name === 'AbortError';
}

/**
 * The pulsing "Live" mark of a polled view. Grey and "Not connected" while the register
 * stops answering, so an operator never trusts a frozen screen; green again on the next answer.
 */
export function LiveDot({ label = 'Live', connected = true, offlineLabel = 'Not connected · retrying' }: { label?: string; connected?: boolean; offlineLabel?: string }) {
  return (
    <span
      className={`live${connected ? '' : ' is-offline'}`}
      data-testid="live-indicator"
      data-connected={connected ? 'true' : 'false'}
      role="status"
      title={connected ? 'Updates automatically' : 'The register is not answering; the console keeps trying'}
    >
      <span className="live-dot" aria-hidden="true" />
      {connected ? label : offlineLabel}
    </span>
  );
}

/**
 * What a detail screen shows until its record is there: a spinner while it loads, or the
 * screen's header with the register's message (and Retry) when it could not be read.
 * Null once the record arrived.
 */
export function detailUnavailable(query: { isLoading: boolean; error: unknown; data: unknown; refetch: () => unknown }, screen: { title: string; back: { to: string; label: string }; loading: string }): ReactNode {
  if (query.isLoading) return <Spinner label={screen.loading} />;
  if (query.error || !query.data)
    return (
      <>
        <PageHeader title={screen.title} back={screen.back} />
        <ErrorNotice error={query.error ?? new Error('Not found')} onRetry={() => void query.refetch()} />
      </>
    );
  return null;
}
