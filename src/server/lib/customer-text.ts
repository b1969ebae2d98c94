/**
 * Wording shared by what customers read: the ceremony pages, the portal and the e-mails
 * (services/mail/templates.ts). One escaping implementation for every page and message.
 */

export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"'`=]/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** "2026-03-24T09:15:00.000Z" → "09:15 UTC on 24 March 2026". */
export function humanTime(iso: string): string {
  const d = new Date(iso);
  const time = d.toISOString().slice(11, 16);
  const date = d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
  return `${time} UTC on ${date}`;
}

/** Only the last four characters of a meter point number are ever shown to whoever holds a link. */
export function meterHint(mpxn: string): string {
  return `ending ${mpxn.slice(-4)}`;
}
