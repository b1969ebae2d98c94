import { useIsAdmin } from '../auth';
import type { ReactNode } from 'react';
import { useRecentAudit } from '../api/audit';
import { useStats } from '../api/register';
import { usePendingTokens } from '../api/tokens';
import type { Stats } from '../api/types';
import { useUndeliveredWebhooks } from '../api/webhooks';
import { fmtDateTime, fmtNumber, LEGAL_BASIS_LABEL, METHOD_LABEL, ROLE_LABEL, shortId } from '../lib/format';
import { ACCOUNT_KINDS, kindForRole } from '../lib/roles';
import { href, Link } from '../lib/router';
import { ButtonLink } from '../ui/controls';
import { EmptyState, ErrorNotice, LiveDot, registerAnswering, Spinner, StatusBadge } from '../ui/feedback';
import type { IconName } from '../ui/icons';
import { Icon } from '../ui/icons';
import { PageHeader, Panel } from '../ui/layout';
import { Countdown, Relative } from '../ui/time';

function StatCard({ label, value, sub, icon, to, tone }: { label: string; value: number | undefined; sub?: ReactNode; icon: IconName; to: string; tone?: 'red' | 'amber' }) {
  return (
    <Link to={to} className={`stat${tone ? ` stat-${tone}` : ''}`}>
      <span className="stat-icon">
        <Icon name={icon} size={20} />
      </span>
      <span className="stat-text">
        <span className="stat-label">{label}</span>
        <span className="stat-value">{fmtNumber(value)}</span>
        {sub && <span className="stat-sub">{sub}</span>}
      </span>
    </Link>
  );
}

function Bars({ data, labels, link, order }: { data: Record<string, number> | undefined; labels?: Record<string, string>; link?: (key: string) => string; order?: string[] }) {
  const entries = Object.entries(data ?? {});
  if (order) entries.sort((a, b) => order.indexOf(a[0]) + 100 * +(order.indexOf(a[0]) < 0) - (order.indexOf(b[0]) + 100 * +(order.indexOf(b[0]) < 0)));
  else entries.sort((a, b) => b[1] - a[1]);
  const max = Math.max(1, ...entries.map(([, n]) => n));
  if (entries.length === 0) return <p className="muted small">Nothing recorded yet.</p>;
  return (
    <ul className="bars">
      {entries.map(([key, n]) => {
        const label = labels?.[key] ?? key;
        const content = (
          <>
            <span className="bar-label">{label}</span>
            <span className="bar-track" aria-hidden="true">
              <span className={`bar-fill bar-${key.toLowerCase()}`} style={{ width: `${Math.max(2, (n / max) * 100)}%` }} />
            </span>
            <span className="bar-value">{fmtNumber(n)}</span>
          </>
        );
        return (
          <li key={key}>
            {link ? (
              <Link to={link(key)} className="bar-row">
                {content}
              </Link>
            ) : (
              <span className="bar-row">{content}</span>
            )}
          </li>
        );
      })}
    </ul>
  );
}

function RecentActivity() {
  const q = useRecentAudit(15_000);
  if (q.isLoading) return <Spinner />;
  if (q.error) return <ErrorNotice error={q.error} />;
  const events = q.data?.events ?? [];
  if (events.length === 0) return <p className="muted small">No activity yet.</p>;
  return (
    <ul className="feed">
      {events.map((e) => (
        <li key={String(e.id)} className="feed-item feed-item-wide">
          <span className="feed-type">
            <code>{e['event-type']}</code>
          </span>
          <span className="feed-who">{e.actor}</span>
          <span className="feed-who muted">
            {e.ak ? (
              <Link to={`/records/${e.ak}`} className="mono-sm">
                {shortId(e.ak, 12)}
              </Link>
            ) : e.ir ? (
              <Link to={`/identity-records/${e.ir}`} className="mono-sm">
                {shortId(e.ir, 12)}
              </Link>
            ) : (
              <code className="mono-sm">{e.subject ?? ''}</code>
            )}
          </span>
          <span className="feed-when">
            <Relative iso={e.at} />
          </span>
        </li>
      ))}
    </ul>
  );
}

function PendingTokens() {
  const q = usePendingTokens(5_000);
  if (q.isLoading) return <Spinner />;
  if (q.error) return <ErrorNotice error={q.error} />;
  const tokens = q.data?.tokens ?? [];
  if (tokens.length === 0) return <p className="muted small">No customer is being re-identified right now.</p>;
  return (
    <ul className="feed">
      {tokens.map((t) => (
        <li key={t['token-ref']} className="feed-item">
          <span className="feed-type">
            <code>{t.mpxn}</code>
          </span>
          <span className="feed-who">
            {METHOD_LABEL[t.method] ?? t.method} · {t['initiator-display-name']}
          </span>
          <span className="feed-when">{t['expires-at'] ? <Countdown to={t['expires-at']} from={t['created-at']} /> : '—'}</span>
        </li>
      ))}
    </ul>
  );
}

function UndeliveredWebhooks() {
  const q = useUndeliveredWebhooks(30_000);
  if (q.isLoading) return <Spinner />;
  if (q.error) return <ErrorNotice error={q.error} />;
  const list = q.data?.deliveries ?? [];
  if (list.length === 0) return <p className="muted small">Every webhook event has been delivered or is still being retried.</p>;
  return (
    <ul className="feed">
      {list.map((d) => (
        <li key={d['event-id']} className="feed-item">
          <span className="feed-type">
            <code>{d['event-type']}</code>
          </span>
          <span className="feed-who">
            {shortId(d.duid, 8)} · {d.attempts} attempts{d['last-status-code'] ? ` · HTTP ${d['last-status-code']}` : ''}
          </span>
          <span className="feed-when">
            <StatusBadge status={d.status} />
          </span>
        </li>
      ))}
    </ul>
  );
}

function Figures({ s, admin }: { s: Stats; admin: boolean }) {
  const active = s['access-records']?.['by-state']?.ACTIVE;
  return (
    <div className="stats">
      <StatCard label="Access records" icon="file" value={s['access-records']?.total} sub={active !== undefined ? `${fmtNumber(active)} active` : undefined} to="/records" />
      <StatCard label="Identity records" icon="idcard" value={s['identity-records']?.total} sub={`${fmtNumber(s['identity-records']?.anonymised ?? 0)} anonymised`} to="/identity-records" />
      <StatCard
        label="Re-identifications pending"
        icon="key"
        value={s.reidentifications?.pending}
        sub={`${fmtNumber(s.reidentifications?.confirmed ?? 0)} confirmed · ${fmtNumber(s.reidentifications?.expired ?? 0)} expired`}
        to={href('/tokens', { status: 'pending' })}
        tone={s.reidentifications?.pending ? 'amber' : undefined}
      />
      {admin && (
        <StatCard
          label="Undelivered webhooks"
          icon="webhook"
          value={s.webhooks?.undelivered}
          sub={`${fmtNumber(s.webhooks?.pending ?? 0)} retrying · ${fmtNumber(s.webhooks?.subscriptions ?? 0)} subscriptions`}
          to={href('/webhooks', { tab: 'deliveries', status: 'undelivered' })}
          tone={s.webhooks?.undelivered ? 'red' : undefined}
        />
      )}
      <StatCard label="Discovered access" icon="radar" value={s.discovered?.total} sub={`${fmtNumber(s.discovered?.superseded ?? 0)} superseded`} to="/discovered" />
      <StatCard label="Audit events" icon="audit" value={s['audit-events']} sub="hash-chained" to="/audit" />
    </div>
  );
}

export function OverviewScreen() {
  const stats = useStats(15_000);
  const s = stats.data;
  // Support staff see no webhooks or account screens (the register refuses them).
  const admin = useIsAdmin();
  return (
    <>
      <PageHeader
        title="Overview"
        subtitle="The state of the register at a glance."
        meta={
          s && (
            <>
              <LiveDot label="Live" connected={registerAnswering(stats.failureReason)} /> <span className="muted">Register time {fmtDateTime(s.now)}</span>
            </>
          )
        }
      />
      {stats.isLoading && <Spinner label="Loading figures…" />}
      {stats.error ? <ErrorNotice error={stats.error} onRetry={() => void stats.refetch()} /> : null}
      {s && <Figures s={s} admin={admin} />}
      <div className="grid grid-3">
        <Panel title="Access records by state">
          {s ? (
            <Bars
              data={s['access-records']?.['by-state']}
              order={['ACTIVE', 'EXPIRED', 'REVOKED', 'DISCOVERED']}
              labels={{ ACTIVE: 'Active', EXPIRED: 'Expired', REVOKED: 'Revoked', DISCOVERED: 'Discovered' }}
              link={(k) => (k === 'DISCOVERED' ? '/discovered' : href('/records', { state: k }))}
            />
          ) : (
            <Spinner />
          )}
        </Panel>
        <Panel title="By legal basis">{s ? <Bars data={s['access-records']?.['by-legal-basis']} labels={LEGAL_BASIS_LABEL} link={(k) => href('/records', { 'legal-basis': k })} /> : <Spinner />}</Panel>
        <Panel title="Accounts by role">
          {s ? (
            <>
              <Bars data={s.accounts?.['by-role']} labels={ROLE_LABEL} link={admin ? (k) => `/${kindForRole(k).path}` : undefined} order={ACCOUNT_KINDS.map((k) => k.role)} />
              <p className="muted small bars-note">
                {Object.entries(s.accounts?.['by-status'] ?? {})
                  .map(([k, n]) => `${fmtNumber(n)} ${k}`)
                  .join(' · ')}
              </p>
            </>
          ) : (
            <Spinner />
          )}
        </Panel>
      </div>
      <div className="grid grid-overview">
        <Panel
          title="Recent activity"
          actions={
            <ButtonLink href="#/audit" size="sm" variant="ghost">
              Audit log
            </ButtonLink>
          }
        >
          <RecentActivity />
        </Panel>
        <div className="stack">
          <Panel
            title="Pending re-identifications"
            actions={
              <ButtonLink href={href('/tokens', { status: 'pending' })} size="sm" variant="ghost">
                All tokens
              </ButtonLink>
            }
          >
            <PendingTokens />
          </Panel>
          {admin && (
            <Panel
              title="Undelivered webhooks"
              actions={
                <ButtonLink href={href('/webhooks', { tab: 'deliveries', status: 'undelivered' })} size="sm" variant="ghost">
                  Deliveries
                </ButtonLink>
              }
            >
              <UndeliveredWebhooks />
            </Panel>
          )}
        </div>
      </div>
      {admin && s && s['access-records']?.total === 0 && s['identity-records']?.total === 0 && (
        <EmptyState
          icon="info"
          title="The register is empty"
          action={
            <ButtonLink href="#/data-users" variant="primary" icon="plus">
              Register a data user
            </ButtonLink>
          }
        >
          Start by registering a data user. Data users create identity records and access records through the API; they then appear here.
        </EmptyState>
      )}
    </>
  );
}
