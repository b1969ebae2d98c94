/**
 * One canonical form for every value a person or a client types (contract §1): instants,
 * dates, postcodes and MPxNs. Pure functions with no Node or browser dependency, so the
 * register (request canonicalisation, services, pages) and the console share them.
 *
 * Each `canonical…` function returns the canonical form, or null when the input does not
 * name a valid value; callers then answer 400 VAL001 naming the field.
 */

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:[.,]\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(2000, month, 0)).getUTCDate() - (month === 2 && !isLeapYear(year) ? 1 : 0);
}
function isLeapYear(y: number): boolean {
  return (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
}
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Epoch milliseconds of a UTC calendar time, including years 0–99 (Date.UTC maps those to 19xx). */
function utcMs(y: number, mo: number, d: number, h = 0, mi = 0, s = 0): number {
  const t = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  t.setUTCFullYear(y);
  return t.getTime();
}

/** `YYYY-MM-DDTHH:MM:SSZ` for epoch milliseconds (whole seconds, rounded down), or null outside years 0001–9999. */
export function instantText(ms: number): string | null {
  if (!Number.isFinite(ms)) return null;
  const t = new Date(Math.floor(ms / 1000) * 1000);
  const y = t.getUTCFullYear();
  if (y < 1 || y > 9999) return null;
  return `${pad(y, 4)}-${pad(t.getUTCMonth() + 1)}-${pad(t.getUTCDate())}T${pad(t.getUTCHours())}:${pad(t.getUTCMinutes())}:${pad(t.getUTCSeconds())}Z`;
}

/**
 * An RFC 3339 / ISO 8601 date-time as the canonical UTC instant `YYYY-MM-DDTHH:MM:SSZ`.
 * Accepts an offset (`+01:00`), `Z`, lowercase `t`/`z`, a space separator and fractional
 * seconds (dropped: the register keeps whole seconds). Refuses what names no real instant:
 * 30 February, hour 24, the leap second `23:59:60` (UTC instants are counted without it),
 * an hour-only offset (`+01`) and a missing offset (a local time is no instant).
 */
export function canonicalInstant(value: string): string | null {
  const m = DATE_TIME.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi, s] = m.slice(1, 7).map(Number);
  if (mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo) || h > 23 || mi > 59 || s > 59) return null;
  let offsetMin = 0;
  const zone = m[7];
  if (zone !== 'Z' && zone !== 'z') {
    const oh = Number(zone.slice(1, 3));
    const om = Number(zone.slice(4, 6));
    if (oh > 23 || om > 59) return null;
    offsetMin = (zone[0] === '-' ? -1 : 1) * (oh * 60 + om);
  }
  return instantText(utcMs(y, mo, d, h, mi, s) - offsetMin * 60_000);
}

/** A calendar date `YYYY-MM-DD` that exists (no 30 February), or null. */
export function canonicalDate(value: string): string | null {
  const v = value.trim();
  const m = DATE.exec(v);
  if (!m) return null;
  const [y, mo, d] = m.slice(1, 4).map(Number);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || d > daysInMonth(y, mo)) return null;
  return v;
}

/** A date-time, or a date meaning 00:00:00Z that day; canonical as canonicalInstant. */
export function canonicalInstantOrDate(value: string): string | null {
  const date = canonicalDate(value);
  return date ? `${date}T00:00:00Z` : canonicalInstant(value);
}

/** Epoch milliseconds of a canonical (or any accepted) instant, for comparisons; NaN if none. */
export function instantMs(value: string): number {
  const c = canonicalInstantOrDate(value);
  return c ? Date.parse(c) : NaN;
}

/** The kinds of public identifier: `<prefix>_` + 24 lowercase hex characters. */
export type IdPrefix = 'ak' | 'ir' | 'duid' | 'wid' | 'mlr' | 'pks' | 'cred' | 'evt' | 'tid' | 'msg';
export const idPattern = (prefix: IdPrefix) => `^${prefix}_[0-9a-f]{24}$`;

/** SEC / DCC organisation references as published: 3–64 letters, digits, `_` or `-` (e.g. `SEC-OU-00429`, `org_abc123def456`). */
export const ORG_REF_PATTERN = '^[A-Za-z0-9_-]{3,64}$';

/** UK postcode as published: `^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$`. */
export const POSTCODE_PATTERN = '^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$';
const POSTCODE_CANONICAL = /^[A-Z]{1,2}[0-9][0-9A-Z]? [0-9][A-Z]{2}$/;

/**
 * A UK postcode upper-cased and trimmed, with exactly one space before the inward code
 * (the last three characters): `sw1a 1aa`, ` SW1A  1AA ` and `SW1A1AA` → `SW1A 1AA`.
 */
export function canonicalPostcode(value: string): string | null {
  const compact = value.replace(/\s+/g, '').toUpperCase();
  if (compact.length < 5) return null;
  const out = `${compact.slice(0, -3)} ${compact.slice(-3)}`;
  return POSTCODE_CANONICAL.test(out) ? out : null;
}

/** MPAN/MPRN as published, plus 6–13 digit cores ([ours], contract §1). */
export const MPXN_PATTERN = '^(?:[0-9A-HJ-NPR-Z]{2}[0-9]{8,10}|[0-9]{6,13})$';
const MPXN = new RegExp(MPXN_PATTERN);

/**
 * An MPxN as typed, in its canonical form: spaces and hyphens stripped, upper case. The
 * 21-digit full MPAN printed in a bill's "S" box (profile class, meter time-switch code
 * and line loss factor class, then the core), optionally written with its leading `S`,
 * becomes its 13-digit MPAN core (the last 13 digits). Null when the result is no MPxN.
 */
export function canonicalMpxn(value: string): string | null {
  let v = value.replace(/[\s-]+/g, '').toUpperCase();
  if (/^S?[0-9]{21}$/.test(v)) v = v.slice(-13);
  return MPXN.test(v) ? v : null;
}

const MPAN_WEIGHTS = [3, 5, 7, 13, 17, 19, 23, 29, 31, 37, 41, 43];

/** Whether a value is a 13-digit MPAN core (the only MPxN form with a check digit). */
export function isMpanCore(mpxn: string): boolean {
  return /^[0-9]{13}$/.test(mpxn);
}

/**
 * The MPAN core check digit (MRA rule): the first 12 digits weighted 3, 5, 7, 13, 17, 19,
 * 23, 29, 31, 37, 41, 43, summed; (sum mod 11) mod 10 must equal the 13th digit.
 * True for anything that is not a 13-digit core (MPRNs carry no such digit).
 */
export function mpanCheckDigitOk(mpxn: string): boolean {
  if (!isMpanCore(mpxn)) return true;
  let sum = 0;
  for (let i = 0; i < 12; i++) sum += Number(mpxn[i]) * MPAN_WEIGHTS[i];
  return (sum % 11) % 10 === Number(mpxn[12]);
}

/** The warning shown before a challenge starts for an MPAN whose check digit is wrong. */
export const MPAN_CHECK_WARNING = 'The last digit of this MPAN does not match the others: check the number on your bill.';
