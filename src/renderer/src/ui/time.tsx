import { useEffect, useState } from 'react';
import { serverNow } from '../api/client';
import { fmtCompact, fmtCountdown, fmtDate, fmtDateTime, fmtRelative } from '../lib/format';

/** The register's "now" (sandbox clock included), re-rendered every `intervalMs`. */
export function useNow(intervalMs = 1000): number {
  const [now, setNow] = useState(serverNow);
  useEffect(() => {
    const t = window.setInterval(() => setNow(serverNow()), intervalMs);
    return () => window.clearInterval(t);
  }, [intervalMs]);
  return now;
}

export function Countdown({ to, from, expiredLabel = 'Expired' }: { to: string; from?: string; expiredLabel?: string }) {
  const now = useNow(1000);
  const end = Date.parse(to);
  const left = end - now;
  const start = from ? Date.parse(from) : NaN;
  const total = Number.isNaN(start) ? null : end - start;
  const pct = total && total > 0 ? Math.max(0, Math.min(100, (left / total) * 100)) : null;
  const urgent = left < 60_000;
  return (
    <span className={`countdown${left <= 0 ? ' is-over' : urgent ? ' is-urgent' : ''}`} title={fmtDateTime(to)}>
      <span className="countdown-value" aria-live="off">
        {left <= 0 ? expiredLabel : fmtCountdown(left)}
      </span>
      {pct !== null && left > 0 && (
        <span className="countdown-track" aria-hidden="true">
          <span className="countdown-fill" style={{ width: `${pct}%` }} />
        </span>
      )}
    </span>
  );
}

export function Relative({ iso }: { iso: string | null | undefined }) {
  const now = useNow(30_000);
  if (!iso) return <span className="muted">—</span>;
  return (
    <time dateTime={iso} title={fmtDateTime(iso)}>
      {fmtRelative(iso, now)}
    </time>
  );
}

/** A register time in UTC; date-only values (expiry dates) show as dates. */
export function When({ iso, compact, seconds }: { iso: string | null | undefined; compact?: boolean; seconds?: boolean }) {
  if (!iso) return <span className="muted">—</span>;
  const text = iso.length === 10 ? fmtDate(iso) : compact ? fmtCompact(iso, seconds) : fmtDateTime(iso);
  return (
    <time dateTime={iso} className="when" title={iso.length === 10 ? undefined : fmtDateTime(iso)}>
      {text}
    </time>
  );
}
