import { useState, type ReactNode } from 'react';
import { useMode, useStats } from './api/register';
import { useAuth, useSession } from './auth';
import { Link, useRoute } from './lib/router';
import { fmtCountdown } from './lib/format';
import { Button } from './ui/controls';
import { Icon, type IconName } from './ui/icons';
import { useNow } from './ui/time';
import { SignInDialog } from './screens/SignIn';
import { RegisterSwitch } from './RegisterSwitch';

interface NavItem {
  to: string;
  label: string;
  icon: IconName;
  count?: (s: NonNullable<ReturnType<typeof useStats>['data']>) => number | undefined;
  countTone?: 'amber' | 'red';
  /** Hidden from support staff: the register refuses them these screens' data and actions. */
  adminOnly?: boolean;
}

export const NAV: Array<{ section: string | null; items: NavItem[] }> = [
  { section: null, items: [{ to: '/overview', label: 'Overview', icon: 'overview' }] },
  {
    section: 'Accounts',
    items: [
      { to: '/data-users', label: 'Data users', icon: 'building', adminOnly: true },
      { to: '/portal-accounts', label: 'Portal accounts', icon: 'globe', adminOnly: true },
      { to: '/dcc-accounts', label: 'DCC accounts', icon: 'antenna', adminOnly: true },
      { to: '/data-providers', label: 'Data providers', icon: 'database', adminOnly: true },
      { to: '/administrators', label: 'Administrators', icon: 'shield', adminOnly: true },
      { to: '/support-staff', label: 'Support staff', icon: 'phone', adminOnly: true },
    ],
  },
  {
    section: 'Customers',
    items: [
      { to: '/identity-records', label: 'Identity records', icon: 'idcard' },
      { to: '/reidentify', label: 'Re-identification desk', icon: 'phone' },
      { to: '/tokens', label: 'Pending tokens', icon: 'key', count: (s) => s.reidentifications?.pending, countTone: 'amber' },
    ],
  },
  {
    section: 'Access',
    items: [
      { to: '/records', label: 'Access records', icon: 'file' },
      { to: '/discovered', label: 'Discovered access', icon: 'radar' },
    ],
  },
  {
    section: 'Operations',
    items: [
      { to: '/webhooks', label: 'Webhooks', icon: 'webhook', count: (s) => s.webhooks?.undelivered, countTone: 'red', adminOnly: true },
      { to: '/outbox', label: 'Outbox', icon: 'mail', adminOnly: true },
      { to: '/audit', label: 'Audit log', icon: 'audit' },
      { to: '/settings', label: 'Settings', icon: 'settings', adminOnly: true },
    ],
  },
];

function initials(name: string): string {
  const parts = name.split(/\s+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '') + (parts[1]?.[0] ?? '')).toUpperCase() || '?';
}

function SessionBanner() {
  const { canRenewSilently } = useAuth();
  const session = useSession();
  const now = useNow(1000);
  const [open, setOpen] = useState(false);
  const left = session.expiresAt - Date.now();
  void now;
  if (canRenewSilently || left > 10 * 60_000) return null;
  return (
    <div className="session-banner" role="status">
      <Icon name="clock" size={16} />
      <span>Your session ends in {fmtCountdown(left)}. Sign in again to keep working.</span>
      <Button size="sm" variant="secondary" onClick={() => setOpen(true)}>
        Stay signed in
      </Button>
      <SignInDialog open={open} onClose={() => setOpen(false)} accountId={session.account['account-id']} />
    </div>
  );
}

/** The navigation a role sees: support staff get no section they could only be refused in. */
export function navFor(role: string): typeof NAV {
  if (role === 'admin') return NAV;
  return NAV.map((g) => ({ ...g, items: g.items.filter((i) => !i.adminOnly) })).filter((g) => g.items.length > 0);
}

/** Screens (first path segment) only administrators may open. */
export function adminOnlyScreen(first: string): boolean {
  return NAV.some((g) => g.items.some((i) => i.adminOnly && i.to === `/${first}`));
}

export function Shell({ children }: { children: ReactNode }) {
  const route = useRoute();
  const { signOut, isDesktop } = useAuth();
  const session = useSession();
  const mode = useMode();
  const stats = useStats(30_000);
  const current = `/${route.segments[0] ?? 'overview'}`;
  const account = session.account;

  return (
    <div className="app">
      <a
        className="skip-link"
        href="#main"
        onClick={(e) => {
          e.preventDefault();
          document.getElementById('main')?.focus();
        }}
      >
        Skip to content
      </a>
      <aside className="sidebar" aria-label="Main navigation">
        <div className="sidebar-inner">
          <div className="brand">
            <span className="brand-mark" aria-hidden="true">
              <svg viewBox="0 0 32 32" width="30" height="30">
                <rect width="32" height="32" rx="8" fill="#2f5bd3" />
                <path d="M9 22V10h5.2c3.9 0 6.3 2.3 6.3 6s-2.4 6-6.3 6H9zm3-2.6h2.1c2.2 0 3.4-1.3 3.4-3.4s-1.2-3.4-3.4-3.4H12v6.8z" fill="#fff" />
                <circle cx="23.5" cy="20.5" r="2.5" fill="#f5b942" />
              </svg>
            </span>
            <span className="brand-text">
              <span className="brand-name">DAR Console</span>
              <span className="brand-sub">Data Access Register</span>
            </span>
          </div>
          <nav className="nav">
            {navFor(account.role).map((group, gi) => (
              <div className="nav-group" key={gi}>
                {group.section && <div className="nav-section">{group.section}</div>}
                <ul>
                  {group.items.map((item) => {
                    const active = current === item.to || (current === '/' && item.to === '/overview');
                    const count = stats.data && item.count ? item.count(stats.data) : undefined;
                    return (
                      <li key={item.to}>
                        <Link to={item.to} className={`nav-link${active ? ' is-active' : ''}`} aria-current={active ? 'page' : undefined}>
                          <Icon name={item.icon} size={18} />
                          <span className="nav-label">{item.label}</span>
                          {count ? <span className={`nav-count nav-count-${item.countTone ?? 'amber'}`}>{count > 999 ? '999+' : count}</span> : null}
                        </Link>
                      </li>
                    );
                  })}
                </ul>
              </div>
            ))}
          </nav>
          <div className="sidebar-foot">{isDesktop ? <span>Desktop app {window.darDesktop?.version}</span> : <span>Browser session</span>}</div>
        </div>
      </aside>
      <div className="main-col">
        <header className="topbar">
          <div className="topbar-left">
            <RegisterSwitch />
            {mode && (
              <span className={`mode-badge mode-${mode}`} title={mode === 'sandbox' ? 'Sandbox register: test data, sandbox clock, simulated DCC' : 'Production register: real customers'}>
                {mode === 'sandbox' ? 'SANDBOX' : 'PRODUCTION'}
              </span>
            )}
          </div>
          <div className="topbar-right">
            <div className="who" title={`Signed in as ${account['account-id']}`}>
              <span className="avatar" aria-hidden="true">
                {initials(account['display-name'])}
              </span>
              <span className="who-text">
                <span className="who-name">{account['display-name']}</span>
                <span className="who-id">
                  {account['account-id']} · {account.role === 'admin' ? 'administrator' : 'support'}
                </span>
              </span>
            </div>
            {!isDesktop && !session.remote && (
              <Button variant="ghost" size="sm" icon="signout" onClick={() => signOut(null)}>
                Sign out
              </Button>
            )}
          </div>
        </header>
        <SessionBanner />
        <main id="main" className="content" tabIndex={-1}>
          {children}
        </main>
      </div>
    </div>
  );
}
