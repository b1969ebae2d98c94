/** Plain-language labels the portal shows customers (contract §11). */
export { DATA_TYPE_PLAIN as DATA_TYPE_LABELS, LEGAL_BASIS_PLAIN as LEGAL_BASIS_LABELS, REVOKE_REASON_PLAIN as REVOKE_REASON_LABELS } from '../../../shared/vocabulary.js';

export const STATE_LABELS: Record<string, string> = {
  ACTIVE: 'Active',
  EXPIRED: 'Expired',
  REVOKED: 'Withdrawn',
  DISCOVERED: 'Not registered',
};

/** `2312345678901` → `•••••••••8901`. */
export function maskMpxn(mpxn: string): string {
  return `${'•'.repeat(Math.max(0, mpxn.length - 4))}${mpxn.slice(-4)}`;
}

/** `2026-03-24T09:00:00Z` or `2026-03-24` → `24 March 2026`. */
export function longDate(value: string | null | undefined): string {
  if (!value) return '';
  const d = new Date(/^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T12:00:00Z` : value);
  if (Number.isNaN(d.getTime())) return value;
  return d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}
