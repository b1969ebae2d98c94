/**
 * Where this register deliberately differs from the published Central Access Register API:
 * the items the contract marks **[ours]** (/work/shared/contract/api.md, sections named
 * below). The served OpenAPI document lists them all in `info.description`, and adds each
 * one to the description of every operation it changes, so a client developer reading one
 * operation sees what differs there.
 */

type Op = `${'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'} /v1/${string}`;

export interface Deviation {
  /** Short name, shown as the list item's lead. */
  title: string;
  /** What we do, and why, in a sentence or two. */
  text: string;
  /** Contract section. */
  section: string;
  /** Operations it changes (OpenAPI path form). Empty: it applies to the API as a whole. */
  ops: Op[];
}

const MPXN_OPS: Op[] = [
  'POST /v1/identity-records',
  'GET /v1/identity-records',
  'GET /v1/identity-records/exists',
  'POST /v1/identity-records/reidentify',
  'GET /v1/meter-points/{mpxn}/access-records',
  'POST /v1/discovered-access',
  'POST /v1/cot-events',
];

export const DEVIATIONS: Deviation[] = [
  {
    title: 'Date-times',
    section: 'preamble',
    text: 'Any valid ISO 8601 date-time is accepted on input (offsets, lowercase t/z, fractions) and stored and returned in one canonical UTC form; a value that names no real instant is 400 VAL001.',
    ops: ['POST /v1/access-records', 'PUT /v1/access-records/{ak}', 'POST /v1/discovered-access', 'POST /v1/admin/clock'],
  },
  {
    title: 'Every validation problem',
    section: '§1',
    text: 'A 400 lists every problem found in the request, one error entry each, naming the field path.',
    ops: [],
  },
  {
    title: 'MPxN pattern',
    section: '§1',
    text: 'MPxNs of 6 to 13 digits are accepted besides the published pattern, so that the published examples (e.g. 1234567890123, a 13-digit MPAN core) are valid.',
    ops: MPXN_OPS,
  },
  {
    title: 'Support role',
    section: '§2',
    text: 'A `support` role (console only) may look up identity records (address and e-mail masked until revealed), read tokens, access records, discovered access, the account directory and the audit log, and run the re-identification desk (start, cancel); it changes no account, record or setting (403 AUTH003).',
    ops: [
      'GET /v1/admin/identity-records',
      'GET /v1/admin/identity-records/{ir}',
      'GET /v1/admin/reidentifications',
      'POST /v1/admin/reidentifications',
      'POST /v1/admin/reidentifications/{tokenRef}/cancel',
      'GET /v1/admin/records',
      'GET /v1/admin/discovered-access',
      'GET /v1/admin/audit',
      'GET /v1/admin/accounts',
    ],
  },
  {
    title: 'Secrets stored as slow hashes',
    section: '§2',
    text: 'Account secrets are stored as salted scrypt hashes, never in plain text, and are shown only once, when created or rotated.',
    ops: ['GET /v1/auth/token', 'POST /v1/self/rotate-secret', 'POST /v1/admin/accounts', 'POST /v1/admin/accounts/{id}/rotate-secret'],
  },
  {
    title: 'Sign-in and sessions',
    section: '§2',
    text: 'Repeated failed sign-ins are limited per account and client (429 RATE001). Every bearer call re-checks the account, so a suspension acts at once; tokens issued before a secret rotation, suspension or "sign out everywhere" answer 401.',
    ops: ['GET /v1/auth/token', 'POST /v1/self/rotate-secret', 'POST /v1/admin/accounts/{id}/suspend', 'POST /v1/admin/accounts/{id}/terminate', 'POST /v1/admin/accounts/{id}/rotate-secret'],
  },
  {
    title: 'Authorization before validation',
    section: '§2',
    text: 'Authentication (401) and role or ownership (403/404) are decided before the request is validated (400), so bad input reveals nothing to a caller who may not make the call.',
    ops: [],
  },
  {
    title: 'E-mail storage',
    section: '§3',
    text: "An identity record's e-mail is kept as a keyed hash (HMAC-SHA256) for look-up plus a copy encrypted with AES-256-GCM (key outside the database) solely to send magic links; neither is ever returned.",
    ops: ['POST /v1/identity-records', 'GET /v1/identity-records', 'GET /v1/identity-records/{ir}'],
  },
  {
    title: 'No passkey enrolment without proof',
    section: '§4',
    text: '`passkey-register` is offered only together with `magic-link` or `passkey-assert`: a new passkey is enrolled only after the customer proves a factor already on the record. A record with neither gives no methods, and re-identification against it is 422 VAL003. The owning Data User may still start passkey registration when it creates the record.',
    ops: ['GET /v1/identity-records/exists', 'POST /v1/identity-records/{ir}/re-identify', 'POST /v1/identity-records/reidentify'],
  },
  {
    title: 'Eligible identity record',
    section: '§4',
    text: 'Cross-Data-User re-identification uses the newest record for the MPxN that is not anonymised, has an e-mail or a passkey, and whose move-in-date is on or after the latest change of tenancy. A record bringing a different e-mail notifies the previous address; adding a passkey to a record with an e-mail notifies that address; the customer is told which organisation registered the contact details used.',
    ops: ['POST /v1/identity-records', 'GET /v1/identity-records/exists', 'POST /v1/identity-records/reidentify'],
  },
  {
    title: 'Magic links need a click',
    section: '§4',
    text: 'Opening a magic link (GET) only shows who is asking; the customer\'s "Yes, it\'s me" (POST) confirms, so mail scanners that prefetch links confirm nothing.',
    ops: ['POST /v1/identity-records/{ir}/re-identify', 'POST /v1/identity-records/reidentify'],
  },
  {
    title: 'Expiry shown at once',
    section: '§5',
    text: 'A record whose expiry has passed is reported EXPIRED even before the sweeper has run.',
    ops: ['GET /v1/access-records/{ak}'],
  },
  {
    title: 'No identity-record-ref across Data Users',
    section: '§5',
    text: "`identity-record-ref` is null on records linked through a re-identification token, so a second Data User never learns the first one's ir.",
    ops: ['GET /v1/access-records/{ak}', 'POST /v1/access-records'],
  },
  {
    title: 'DISCOVERED records superseded by their own organisation',
    section: '§5',
    text: "A new record supersedes a DISCOVERED record on the same MPxN only when the caller's organisation-reference matches it (the published reference supersedes regardless of organisation).",
    ops: ['POST /v1/access-records'],
  },
  {
    title: 'Meter-point listings',
    section: '§5, §7',
    text: "A Data User may list a meter point only with a record there that is or has been ACTIVE (one submitted directly as REVOKED or EXPIRED does not count). Every listing is audited (`meter-point.viewed`) and shown to the customer in /portal. A portal's token is bound to the MPxN it was issued for.",
    ops: ['GET /v1/meter-points/{mpxn}/access-records'],
  },
  {
    title: 'Portal withdrawal window',
    section: '§7',
    text: "After the meter-point query consumed a portal's token, the same token still lets that portal withdraw ACTIVE consent records on that MPxN (reason customer-request) for 30 minutes.",
    ops: ['DELETE /v1/access-records/{ak}'],
  },
  {
    title: 'Cursor paging',
    section: '§5, §10',
    text: 'Lists page with `limit` and `cursor` (`next-cursor` in each page, null on the last).',
    ops: ['GET /v1/records', 'GET /v1/admin/accounts', 'GET /v1/admin/records', 'GET /v1/admin/audit'],
  },
  {
    title: 'Change of tenancy tells each Data User its own keys only',
    section: '§8',
    text: "Each `tenancy.change` lists only that Data User's ACTIVE access keys (access keys are secrets; the published reference sends every Data User all keys).",
    ops: ['POST /v1/cot-events'],
  },
  {
    title: 'Webhook callbacks',
    section: '§9',
    text: 'Callbacks must be https; a sandbox register also accepts http to loopback hosts. A production register refuses hosts that are or resolve to internal addresses (loopback, private, link-local, IPv4-embedding IPv6).',
    ops: ['POST /v1/webhooks', 'PATCH /v1/webhooks/{wid}'],
  },
  {
    title: 'Signing-secret rotation',
    section: '§9',
    text: 'For 15 minutes after a rotation, X-DAR-Signature stays under the old secret and X-DAR-Signature-New carries the new one, so receivers can switch over.',
    ops: ['PATCH /v1/webhooks/{wid}'],
  },
  {
    title: 'Durable deliveries',
    section: '§9',
    text: 'Webhook deliveries are queued in the database in the same transaction as the change that causes them, so none is lost on a crash or restart.',
    ops: ['POST /v1/webhooks'],
  },
  {
    title: 'Operator operations',
    section: '§10',
    text: 'Added for support staff and the console: identity records across Data Users, re-identification tokens, discovered access, webhook deliveries with redelivery, the e-mail outbox (one-time links redacted in production), the register clock (sandbox) and settings.',
    ops: [
      'GET /v1/admin/identity-records',
      'GET /v1/admin/reidentifications',
      'POST /v1/admin/reidentifications',
      'POST /v1/admin/reidentifications/{tokenRef}/cancel',
      'GET /v1/admin/discovered-access',
      'GET /v1/admin/deliveries',
      'POST /v1/admin/deliveries/{eventId}/redeliver',
      'GET /v1/admin/outbox',
      'POST /v1/admin/outbox/{id}/retry',
      'POST /v1/admin/clock',
    ],
  },
  {
    title: 'Sandbox toolkit: mail catcher and snapshots',
    section: '§10',
    text: "Sandbox registers only (403 AUTH003 in production): the outbox can be searched (recipient, subject, body), emptied or pruned one message at a time, and shows each message's header lines and raw RFC 822 source; the register's whole state can be saved as a named snapshot (SQLite online backup in the data folder's snapshots/), restored exactly (audit chain included, work in flight dropped) or reset to the demo data or empty.",
    ops: [
      'DELETE /v1/admin/outbox',
      'DELETE /v1/admin/outbox/{id}',
      'GET /v1/admin/outbox/{id}/source',
      'GET /v1/admin/outbox/{id}/raw',
      'GET /v1/admin/sandbox/snapshots',
      'POST /v1/admin/sandbox/snapshots',
      'POST /v1/admin/sandbox/snapshots/{id}/restore',
      'DELETE /v1/admin/sandbox/snapshots/{id}',
      'POST /v1/admin/sandbox/reset',
    ],
  },
  {
    title: 'Hash-chained audit',
    section: '§10',
    text: "Audit events are hash-chained (each stores the previous one's hash, keyed with a register key) and GET /admin/audit/verify reports whether the chain is intact. The audit also records reads of customer data by people (identity-record.read, with the client address), sign-ins (account.login, account.login-failed), account changes field by field and suspension reasons.",
    ops: ['GET /v1/admin/audit', 'GET /v1/admin/audit/verify', 'GET /v1/auth/token', 'GET /v1/admin/identity-records/{ir}', 'PATCH /v1/admin/accounts/{id}', 'POST /v1/admin/accounts/{id}/suspend'],
  },
  {
    title: 'No caching, no secrets in logs',
    section: '§2, §10',
    text: 'Every answer is sent with Cache-Control: no-store. Request logs keep only the route shape: no secrets, token-refs, session ids or e-mail addresses.',
    ops: ['GET /v1/auth/token'],
  },
];

interface OpenApiOperation {
  description?: string;
}
interface OpenApiDocument {
  info: { description?: string };
  paths?: Record<string, Record<string, OpenApiOperation>>;
}

const bullet = (d: Deviation) => `- **${d.title}** (contract ${d.section}): ${d.text}`;

/**
 * Adds the deviations to an OpenAPI document: a summary list under `info.description`, and on
 * each affected operation a "Differs from the published API" paragraph. Operations named here
 * that the document lacks are left out (the test checks there are none).
 */
export function describeDeviations<T extends OpenApiDocument>(doc: T): T {
  // A new info object: the one given may be the plugin's own options, shared between calls.
  doc.info = {
    ...doc.info,
    description: [
      doc.info.description ?? '',
      '',
      '## Deviations from the published API [ours]',
      '',
      'Where the published Central Access Register API is silent, unsafe or self-contradictory, this register does the following. Each affected operation repeats what differs for it.',
      '',
      ...DEVIATIONS.map(bullet),
    ].join('\n'),
  };
  for (const d of DEVIATIONS) {
    for (const op of d.ops) {
      const [method, path] = op.split(' ');
      const operation = doc.paths?.[path]?.[method.toLowerCase()];
      if (!operation) continue;
      const note = `**Differs from the published API [ours] — ${d.title}:** ${d.text}`;
      operation.description = operation.description ? `${operation.description}\n\n${note}` : note;
    }
  }
  return doc;
}
