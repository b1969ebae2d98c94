/**
 * Canonical values on the way in (contract §1): every request field whose schema carries
 * `x-canonical` is rewritten to its one canonical form before the schema validates it, so
 * the routes and services only ever see (and store, and compare) canonical values.
 *
 * - `canonicalise(schema, data)` walks a request part (body, query string, path
 *   parameters) along its TypeBox schema and replaces each valid value by its canonical
 *   form. A value that is not valid is left as it came: validation then refuses it with
 *   400 VAL001 naming the field (`valueKeywords` below), never a 500 further on.
 * - `valueKeywords` teaches the request validator (Ajv) the same rules, so the error names
 *   the field and says what was expected.
 *
 * The parsers themselves live in src/shared/values.ts (shared with the console); e-mail
 * needs Node's IDNA and lives here.
 */
import { domainToASCII } from 'node:url';
import type { Ajv } from 'ajv';
import { canonicalDate, canonicalInstant, canonicalInstantOrDate, canonicalMpxn, canonicalPostcode, mpanCheckDigitOk } from '../../shared/values.js';
import type { Mode } from '../../shared/vocabulary.js';

/**
 * An e-mail address with its domain in ASCII (IDNA / punycode, lower case), so that
 * `kunde@münchen.example` is sent to `kunde@xn--mnchen-3ya.example`. The local part keeps
 * its case: it is the recipient's mailbox name and is sent as given. Null when the domain
 * is not a valid internationalised domain name.
 */
export function canonicalEmail(value: string): string | null {
  const v = value.trim();
  const at = v.lastIndexOf('@');
  if (at < 1 || at === v.length - 1) return null;
  const domain = domainToASCII(v.slice(at + 1).toLowerCase());
  if (!domain) return null;
  return `${v.slice(0, at)}@${domain}`;
}

/**
 * The form an address is matched by (its keyed hash is taken over this): canonical, then
 * lower-cased whole, so that case and Unicode-versus-ASCII spellings of the domain match.
 */
export function emailMatchKey(value: string): string {
  return (canonicalEmail(value) ?? value.trim()).toLowerCase();
}

/**
 * A WebAuthn credential id in one spelling: base64url without padding (as WebAuthn and
 * @simplewebauthn write it). Clients and SDKs differ: some pad with `=`, some send standard
 * base64 (`+`, `/`). Stored and looked up in this form, so a credential registered in one
 * spelling is found when asserted in another.
 */
export function canonicalCredentialId(id: string): string {
  return id.trim().replace(/=+$/, '').replace(/\+/g, '-').replace(/\//g, '_');
}

/** The kinds of canonical value a schema can ask for with `x-canonical`. */
export const CANONICAL = {
  /** A date-time (RFC 3339 with an offset) → `YYYY-MM-DDTHH:MM:SSZ`. */
  'date-time': canonicalInstant,
  /** A date-time, or a date meaning 00:00:00Z of that day → `YYYY-MM-DDTHH:MM:SSZ`. */
  'date-time-or-date': canonicalInstantOrDate,
  /** A calendar date `YYYY-MM-DD` that exists. */
  date: canonicalDate,
  postcode: canonicalPostcode,
  mpxn: canonicalMpxn,
  email: canonicalEmail,
} as const satisfies Record<string, (v: string) => string | null>;
export type CanonicalKind = keyof typeof CANONICAL;

/** What a value of each kind must be, for the error message. */
const EXPECTED: Record<CanonicalKind, string> = {
  'date-time': 'a valid date-time (RFC 3339, e.g. 2026-03-24T09:00:00Z or 2026-03-24T10:00:00+01:00)',
  'date-time-or-date': 'a valid date-time (RFC 3339, e.g. 2026-03-24T09:00:00Z) or date (YYYY-MM-DD, meaning 00:00:00Z)',
  date: 'a valid date (YYYY-MM-DD)',
  postcode: 'a valid UK postcode (e.g. SW1A 1AA)',
  mpxn: 'a valid MPAN or MPRN',
  email: 'a valid e-mail address',
};

type Fix = (v: unknown) => unknown;
const compiled = new WeakMap<object, Fix | null>();

/** A function that canonicalises data of `schema` in place (and returns it), or null if nothing in it is canonical. */
function compile(schema: unknown): Fix | null {
  if (!schema || typeof schema !== 'object') return null;
  if (compiled.has(schema)) return compiled.get(schema)!;
  compiled.set(schema, null); // recursive schemas: no canonical value through the cycle
  const fix = build(schema as Record<string, unknown>);
  compiled.set(schema, fix);
  return fix;
}

function build(s: Record<string, unknown>): Fix | null {
  const kind = s['x-canonical'] as CanonicalKind | undefined;
  if (kind) {
    const parse = CANONICAL[kind];
    return (v) => (typeof v === 'string' ? (parse(v) ?? v) : v);
  }
  const branches = (s.anyOf ?? s.oneOf) as unknown[] | undefined;
  if (Array.isArray(branches)) {
    const fixes = branches.map(compile).filter((f): f is Fix => f !== null);
    if (fixes.length === 0) return null;
    return (v) => fixes.reduce((acc, f) => f(acc), v);
  }
  if (s.properties && typeof s.properties === 'object') {
    const props = Object.entries(s.properties as Record<string, unknown>)
      .map(([k, sub]) => [k, compile(sub)] as const)
      .filter((e): e is readonly [string, Fix] => e[1] !== null);
    if (props.length === 0) return null;
    return (v) => {
      if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
      const o = v as Record<string, unknown>;
      for (const [k, f] of props) if (Object.hasOwn(o, k)) o[k] = f(o[k]);
      return v;
    };
  }
  if (s.items && typeof s.items === 'object') {
    const f = compile(s.items);
    if (!f) return null;
    return (v) => {
      if (Array.isArray(v)) for (let i = 0; i < v.length; i++) v[i] = f(v[i]);
      return v;
    };
  }
  return null;
}

/** Canonicalises `data` (a parsed body, query string or path parameters) along `schema`, in place. */
export function canonicalise<T>(schema: unknown, data: T): T {
  const fix = compile(schema);
  return fix ? (fix(data) as T) : data;
}

/** The function `canonicalise` would apply for `schema`, or null when nothing in it is canonical. */
export function canonicaliser(schema: unknown): ((data: unknown) => unknown) | null {
  return compile(schema);
}

/**
 * Ajv plugin: the `x-canonical` keyword validates what `canonicalise` could not make
 * canonical, with one message per field. In production mode a 13-digit MPAN core must also
 * carry a correct check digit; a sandbox accepts it (the published examples and the demo
 * data do not carry valid check digits), and the portal and console warn instead.
 */
export function valueKeywords(ajv: Ajv, options: unknown): Ajv {
  const opts = options as { mode: Mode };
  ajv.addKeyword({
    keyword: 'x-canonical',
    type: 'string',
    schemaType: 'string',
    errors: true,
    compile(kind: CanonicalKind) {
      const parse = CANONICAL[kind];
      if (!parse) throw new Error(`x-canonical: unknown kind ${kind}`);
      const check = kind === 'mpxn' && opts.mode === 'production';
      const validate = (data: string): boolean => {
        const c = parse(data);
        if (c === null || c !== data) {
          // Not canonical after canonicalisation: not a valid value of this kind.
          validate.errors = [{ keyword: 'x-canonical', message: `must be ${EXPECTED[kind]}`, params: { kind } }];
          return false;
        }
        if (check && !mpanCheckDigitOk(data)) {
          validate.errors = [{ keyword: 'x-canonical', message: 'is not a valid MPAN: its check digit (the 13th digit) does not match; check the number', params: { kind } }];
          return false;
        }
        return true;
      };
      validate.errors = null as null | object[];
      return validate as never;
    },
  });
  return ajv;
}
