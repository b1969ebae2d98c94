import { canonicalInstant, canonicalInstantOrDate, instantText } from '../../../shared/values.js';
import { CONSENT_BASES, type RecordState, type RevokeReason } from '../../../shared/vocabulary.js';
import type { AccessRecordInput } from '../../../shared/schemas/access-record.js';
import type { IdentityRow } from '../identity-records.js';

/**
 * The access-record rules that need no database: what a submitted record must satisfy
 * (contract §5), its canonical times, what the register stores of it, and its effective state.
 */

/** What the register keeps of a submitted record: the sections minus register-set fields. */
interface StoredBody {
  'record-metadata': { 'schema-version': string; 'controller-arrangement': AccessRecordInput['record-metadata']['controller-arrangement'] };
  notice: AccessRecordInput['notice'] | null;
  processing: Omit<AccessRecordInput['processing'], 'jurisdiction'>;
  'access-event': { 'registered-at': string; expiry: string | null; 'controller-reference'?: string | null; consent: NonNullable<AccessRecordInput['access-event']['consent']> | null };
}

export type { RevokeReason };

/** A registered-at may run ahead of the register's clock by at most this much (clock skew). */
export const REGISTERED_AT_MAX_FUTURE_MS = 5 * 60_000;

/**
 * The canonical expiry (`YYYY-MM-DDTHH:MM:SSZ`; a date-only input means 00:00:00Z of that
 * day, contract §1) as the millisecond timestamp the comparisons use (`expires_at`), or
 * null for no expiry or a value that names no instant.
 */
export function normaliseExpiry(expiry: string | null | undefined): string | null {
  if (!expiry) return null;
  const c = canonicalInstantOrDate(expiry);
  return c ? `${c.slice(0, 19)}.000Z` : null;
}

/**
 * The record's timestamps in canonical form, checked as instants: registered-at not more
 * than 5 minutes ahead of the register's clock (a consent dated in the future must not
 * authorise access today), expiry not before registered-at. The request canonicaliser has
 * normally done this already; services are also called by the seed and tools.
 */
function timeProblems(body: AccessRecordInput, nowMs: number, problems: string[]): void {
  const ev = body['access-event'];
  const registeredAt = typeof ev['registered-at'] === 'string' ? canonicalInstant(ev['registered-at']) : null;
  if (!registeredAt) problems.push('access-event.registered-at must be a valid date-time (RFC 3339, e.g. 2026-03-24T09:00:00Z)');
  else ev['registered-at'] = registeredAt;
  let expiry: string | null = null;
  if (ev.expiry !== null && ev.expiry !== undefined) {
    expiry = canonicalInstantOrDate(ev.expiry);
    if (!expiry) problems.push('access-event.expiry must be a valid date-time or date (YYYY-MM-DD)');
    else ev.expiry = expiry;
  }
  if (registeredAt && Date.parse(registeredAt) > nowMs + REGISTERED_AT_MAX_FUTURE_MS)
    problems.push(`access-event.registered-at ${registeredAt} is in the future (the register's clock reads ${instantText(nowMs)}); at most 5 minutes ahead is accepted`);
  if (registeredAt && expiry && Date.parse(expiry) < Date.parse(registeredAt)) problems.push('access-event.expiry must not be before access-event.registered-at');
}

/**
 * The business rules JSON Schema cannot express (contract §5). Returns every problem,
 * each naming its field path.
 */
export function ruleProblems(body: AccessRecordInput, nowMs: number): string[] {
  const problems: string[] = [];
  timeProblems(body, nowMs, problems);
  const arr = body['record-metadata']['controller-arrangement'];
  const base = 'record-metadata.controller-arrangement';
  const controllers = arr.controllers;
  const type = arr['arrangement-type'];
  const art26 = arr['art26-reference'];
  const roleAt = (i: number, expected: string) => problems.push(`${base}.controllers[${i}].role must be "${expected}" in a ${type} arrangement (got "${controllers[i].role}")`);

  if (type === 'sole') {
    if (controllers.length !== 1) problems.push(`${base}.controllers must have exactly one controller in a sole arrangement (got ${controllers.length})`);
    controllers.forEach((c, i) => c.role !== 'sole' && roleAt(i, 'sole'));
  } else {
    const other = type === 'joint' ? 'joint' : 'member';
    if (type === 'joint' && controllers.length < 2) problems.push(`${base}.controllers must have at least two controllers in a joint arrangement (got ${controllers.length})`);
    const leads = controllers.filter((c) => c.role === 'lead').length;
    if (leads !== 1) problems.push(`${base}.controllers must have exactly one controller with role "lead" in a ${type} arrangement (got ${leads})`);
    controllers.forEach((c, i) => c.role !== 'lead' && c.role !== other && roleAt(i, leads === 0 && i === 0 ? 'lead' : other));
  }
  if (type === 'joint' && !art26) problems.push(`${base}.art26-reference is required for a joint arrangement (UK GDPR Art. 26 arrangement)`);
  if (type !== 'joint' && art26) problems.push(`${base}.art26-reference must be null or absent for a ${type} arrangement`);

  const basis = body.processing['legal-basis'];
  const isConsent = CONSENT_BASES.includes(basis);
  const notice = body.notice ?? null;
  if (isConsent) {
    const shared = notice?.['shared-notice'] ?? null;
    const notices = notice?.notices ?? null;
    if (!notice || (!shared && !notices)) problems.push(`notice is required for ${basis}: give exactly one of notice.shared-notice or notice.notices`);
    else if (shared && notices) problems.push('notice must have exactly one of shared-notice or notices, not both');
    else if (notices && notices.length < 2) problems.push(`notice.notices must list at least two controller notices (got ${notices.length}); use notice.shared-notice for one`);
    if (!body['access-event'].consent) problems.push(`access-event.consent is required for ${basis}`);
  } else {
    if (notice !== null) problems.push(`notice must be null for the non-consent basis ${basis}`);
    if (body['access-event'].consent) problems.push(`access-event.consent must be null for the non-consent basis ${basis}`);
  }
  const consentType = body['access-event'].consent?.['consent-type'];
  if (basis === 'uk-explicit-consent' && consentType && consentType !== 'explicit-consent') problems.push('access-event.consent.consent-type must be "explicit-consent" for uk-explicit-consent');

  return problems;
}

function leadOf(arr: AccessRecordInput['record-metadata']['controller-arrangement']): string {
  return (arr.controllers.find((c) => c.role === 'sole' || c.role === 'lead') ?? arr.controllers[0]).name;
}

/** The columns `recordColumns()` fills for a new record (the prepared insert binds exactly these). */
export const RECORD_COLUMNS = [
  'ak',
  'kind',
  'duid',
  'ir',
  'mpxn',
  'state',
  'legalBasis',
  'arrangementType',
  'leadControllerName',
  'controllerCount',
  'purpose',
  'dataTypes',
  'expiry',
  'expiresAt',
  'registeredAt',
  'body',
  'recordMetadata',
  'createdAt',
  'updatedAt',
  'revokedAt',
  'revokeReason',
  'expiredAt',
  'activatedAt',
] as const;

/** The row a submitted record becomes (every column in RECORD_COLUMNS). */
export function recordColumns(duid: string, identity: Pick<IdentityRow, 'ir' | 'mpxn'>, ak: string, body: AccessRecordInput, now: string) {
  const arr = body['record-metadata']['controller-arrangement'];
  const ev = body['access-event'];
  const expiresAt = normaliseExpiry(ev.expiry);
  const stored: StoredBody = {
    'record-metadata': { 'schema-version': body['record-metadata']['schema-version'], 'controller-arrangement': { ...arr, 'art26-reference': arr['art26-reference'] ?? null } },
    notice: body.notice ?? null,
    processing: (({ jurisdiction: _j, ...rest }) => rest)(body.processing),
    'access-event': {
      'registered-at': ev['registered-at'],
      expiry: ev.expiry ?? null,
      ...(ev['controller-reference'] !== undefined ? { 'controller-reference': ev['controller-reference'] } : {}),
      consent: ev.consent ?? null,
    },
  };
  return {
    ak,
    kind: 'record',
    duid,
    ir: identity.ir,
    mpxn: identity.mpxn!,
    state: ev.state,
    legalBasis: body.processing['legal-basis'],
    arrangementType: arr['arrangement-type'],
    leadControllerName: leadOf(arr),
    controllerCount: arr.controllers.length,
    purpose: body.processing.purpose,
    dataTypes: body.processing['data-types'],
    expiry: ev.expiry ?? null,
    expiresAt,
    registeredAt: ev['registered-at'],
    body: stored as unknown as Record<string, unknown>,
    // The same section's text, which is what `body` holds for it (the column's comment, db/schema.ts).
    recordMetadata: JSON.stringify(stored['record-metadata']),
    createdAt: now,
    updatedAt: now,
    revokedAt: ev.state === 'REVOKED' ? now : null,
    revokeReason: ev.state === 'REVOKED' ? 'other' : null,
    expiredAt: ev.state === 'EXPIRED' ? now : null,
    // Has been ACTIVE (contract §5): submitted ACTIVE with its expiry still ahead. A record
    // submitted ACTIVE with an expiry already past reads EXPIRED from the start and never
    // gave access, so it does not count either.
    activatedAt: ev.state === 'ACTIVE' && (expiresAt === null || expiresAt > now) ? now : null,
  };
}

/**
 * The state a reader sees: an ACTIVE record past its expiry is EXPIRED even before a sweep.
 * (The same rule in SQL, for records written as JSON: effectiveStateSql in record-json.ts.)
 */
export function effectiveState(row: { state: string; expiresAt: string | null }, nowIso: string): RecordState {
  // The column holds only RECORD_STATES (written by this service and the DCC's).
  return row.state === 'ACTIVE' && row.expiresAt !== null && row.expiresAt <= nowIso ? 'EXPIRED' : (row.state as RecordState);
}
