import type { Method, Role } from '../api/types';

const dateTime = new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: 'short', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'UTC' });
const dateOnly = new Intl.DateTimeFormat('en-GB', { day: '2-digit', month: 'short', year: 'numeric', timeZone: 'UTC' });
const timeOnly = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', timeZone: 'UTC' });
const number = new Intl.NumberFormat('en-GB');

/** Register times are UTC; the console shows them in UTC, labelled, so operators on the phone agree. */
export function fmtDateTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${dateTime.format(d)} UTC`;
}

/** "22 Nov 2026 03:13" (UTC) for dense tables; seconds for the audit trail. */
export function fmtCompact(iso: string | null | undefined, seconds = false): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const date = dateOnly.format(d);
  const time = seconds ? timeOnly.format(d) : timeOnly.format(d).slice(0, 5);
  return `${date} ${time}`;
}

export function fmtDate(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso.length === 10 ? `${iso}T00:00:00Z` : iso);
  if (Number.isNaN(d.getTime())) return iso;
  return dateOnly.format(d);
}

export function fmtTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : timeOnly.format(d);
}

export function fmtNumber(n: number | null | undefined): string {
  return typeof n === 'number' ? number.format(n) : '—';
}

/** "3 min ago", "in 2 days". */
export function fmtRelative(iso: string | null | undefined, nowMs: number): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return iso;
  const diff = t - nowMs;
  const abs = Math.abs(diff);
  const units: Array<[number, string]> = [
    [365 * 86_400_000, 'year'],
    [30 * 86_400_000, 'month'],
    [86_400_000, 'day'],
    [3_600_000, 'hour'],
    [60_000, 'min'],
  ];
  for (const [size, label] of units) {
    if (abs >= size) {
      const n = Math.floor(abs / size);
      const unit = label === 'min' ? 'min' : `${label}${n === 1 ? '' : 's'}`;
      return diff < 0 ? `${n} ${unit} ago` : `in ${n} ${unit}`;
    }
  }
  return diff < 0 ? 'just now' : 'in under a minute';
}

/** mm:ss (or h:mm:ss) left until a time; "0:00" once passed. */
export function fmtCountdown(msLeft: number): string {
  const s = Math.max(0, Math.floor(msLeft / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function fmtDuration(ms: number): string {
  const sign = ms < 0 ? '−' : '';
  let s = Math.round(Math.abs(ms) / 1000);
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  const parts = [d && `${d} d`, h && `${h} h`, m && `${m} min`].filter(Boolean);
  return parts.length ? `${sign}${parts.join(' ')}` : '0 min';
}

export const ROLE_LABEL: Record<Role, string> = {
  data_user: 'Data user',
  data_provider: 'Data provider',
  dcc: 'DCC',
  portal: 'Portal',
  admin: 'Administrator',
  support: 'Support',
};

export const LEGAL_BASIS_LABEL: Record<string, string> = {
  'uk-consent': 'Consent',
  'uk-explicit-consent': 'Explicit consent',
  'uk-legitimate-interests': 'Legitimate interests',
  'uk-public-task': 'Public task',
  'uk-legal-obligation': 'Legal obligation',
  'uk-contract': 'Contract',
};

/** What the customer is told (contract §11). */
export { LEGAL_BASIS_PLAIN } from '../../../shared/vocabulary';

export const METHOD_LABEL: Record<Method, string> = {
  'magic-link': 'E-mail link',
  'passkey-assert': 'Passkey',
  'passkey-register': 'New passkey',
};

export const REVOKE_REASON_LABEL: Record<string, string> = {
  'customer-request': 'Customer asked for it',
  'contract-ended': 'Contract ended',
  'lia-lapsed': 'Legitimate interests assessment lapsed',
  'statutory-authority-lapsed': 'Statutory authority lapsed',
  'data-no-longer-required': 'Data no longer required',
  other: 'Other',
};

export function legalBasis(basis: string | null | undefined): string {
  if (!basis) return '—';
  return LEGAL_BASIS_LABEL[basis] ?? basis;
}

export function shortId(id: string | null | undefined, keep = 10): string {
  if (!id) return '—';
  const us = id.indexOf('_');
  if (us > 0 && id.length > us + 1 + keep) return `${id.slice(0, us + 1 + keep)}…`;
  return id;
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmtNumber(n)} ${n === 1 ? one : many}`;
}

export function slugify(name: string): string {
  return name
    .toLowerCase()
    .replace(/&/g, ' and ')
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .slice(0, 40);
}
