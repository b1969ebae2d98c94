import { Type } from 'typebox';
import { LEGAL_BASES, MODES, RECORD_STATES } from '../vocabulary.js';
import { AccessRecordOutput, AccessRecordSummary, DiscoveredAccess } from './access-record.js';
import { Nullable, StringEnum } from './common.js';
import { IdentityRecord } from './identity-record.js';
import { AdminToken } from './reidentification.js';
import { Delivery } from './webhook.js';

/*
 * What the admin API ([ours], contract §10) answers, beside the published shapes it reuses.
 * The routes under /v1/admin serve these, and the operator console reads them: its types
 * are `Static<…>` of the same schemas (src/renderer/src/api/types.ts).
 */

/** A row of the admin record list (and the head of one record's detail). */
export const AdminRecord = Type.Object({
  ak: Type.String(),
  duid: Nullable(Type.String()),
  mpxn: Type.String(),
  state: StringEnum([...RECORD_STATES]),
  'legal-basis': Nullable(StringEnum([...LEGAL_BASES])),
  purpose: Nullable(Type.String()),
  'data-types': Type.Array(Type.String()),
  'lead-controller-name': Nullable(Type.String()),
  'arrangement-type': Nullable(Type.String()),
  'controller-count': Type.Integer(),
  expiry: Nullable(Type.String()),
  'created-at': Type.String(),
  'revoked-at': Nullable(Type.String()),
  'organisation-name': Nullable(Type.String()),
  'data-user-name': Nullable(Type.String({ description: "[ours] the owning Data User's display name" })),
});

/** An audit event or a derived state change in a record's timeline. */
export const TimelineEntry = Type.Object({ at: Type.String(), 'event-type': Type.String(), actor: Type.String(), detail: Type.Record(Type.String(), Type.Unknown()) });

/** The Data User owning a record or an identity record. */
export const Owner = Type.Object({ duid: Type.String(), 'display-name': Type.String(), 'account-id': Type.String() });

/** GET /admin/records/{ak}: every section, its owner and its state timeline. */
export const AdminRecordDetail = Type.Object({
  ...AdminRecord.properties,
  ir: Nullable(Type.String()),
  'access-record': AccessRecordOutput,
  owner: Nullable(Owner),
  timeline: Type.Array(TimelineEntry),
});

/** A row of the staff identity list: masked, with its owner and how many records link to it. */
export const AdminIdentity = Type.Object({
  ...IdentityRecord.properties,
  duid: Type.String(),
  'owner-display-name': Nullable(Type.String()),
  'access-record-count': Type.Integer(),
  masked: Type.Boolean({ description: 'Address lines and postcode are masked; GET /admin/identity-records/{ir}?reveal=true shows them (audited)' }),
});

/** GET /admin/identity-records/{ir} (the body beside the envelope). */
export const AdminIdentityDetail = Type.Object({
  'identity-record': IdentityRecord,
  email: Nullable(Type.String({ description: 'The e-mail on file: masked unless revealed' })),
  masked: Type.Boolean(),
  owner: Nullable(Owner),
  'access-records': Type.Array(AccessRecordSummary),
  tokens: Type.Array(AdminToken),
});

/** A webhook delivery with the subscribing Data User's name (admin list). */
export const AdminDelivery = Type.Object({ ...Delivery.properties, 'data-user-name': Nullable(Type.String({ description: "[ours] the subscribing Data User's display name" })) });

/** What the DCC saw (admin list), and what superseded it. */
export const AdminDiscovered = Type.Object({
  ak: Type.String(),
  state: StringEnum([...RECORD_STATES]),
  ...DiscoveredAccess.properties,
  'superseded-at': Nullable(Type.String()),
  'created-at': Type.String(),
});

export const AuditEvent = Type.Object({
  id: Type.Integer(),
  at: Type.String(),
  actor: Type.String(),
  'event-type': Type.String(),
  ak: Nullable(Type.String()),
  ir: Nullable(Type.String()),
  subject: Nullable(Type.String()),
  detail: Type.Record(Type.String(), Type.Unknown()),
  // [ours] null while the event is not yet linked into the chain (normally a second or two
  // after it was written; docs/security.md "The audit chain"). Its own HMAC is checked by verify meanwhile.
  hash: Nullable(Type.String()),
  'prev-hash': Nullable(Type.String()),
});

export const AuditVerify = Type.Object({
  intact: Type.Boolean(),
  checked: Type.Integer(),
  linked: Type.Integer({ description: '[ours] events linked into the chain' }),
  unlinked: Type.Integer({ description: '[ours] events written but not yet linked (normally linked within a couple of seconds); checked by their own HMAC' }),
  'first-broken-id': Nullable(Type.Integer()),
  reason: Nullable(Type.String()),
});

const Counts = Type.Record(Type.String(), Type.Integer());

/** GET /admin/stats: the overview's numbers. */
export const AdminStats = Type.Object({
  accounts: Type.Object({ 'by-role': Counts, 'by-status': Counts }),
  'access-records': Type.Object({ total: Type.Integer(), 'by-state': Counts, 'by-legal-basis': Counts }),
  'identity-records': Type.Object({ total: Type.Integer(), anonymised: Type.Integer() }),
  reidentifications: Type.Object({ pending: Type.Integer(), confirmed: Type.Integer(), expired: Type.Integer(), consumed: Type.Integer() }),
  webhooks: Type.Object({ subscriptions: Type.Integer(), pending: Type.Integer(), undelivered: Type.Integer(), delivered: Type.Integer() }),
  discovered: Type.Object({ total: Type.Integer(), superseded: Type.Integer() }),
  'audit-events': Type.Integer(),
  mode: StringEnum([...MODES]),
  now: Type.String(),
});

/** GET /admin/settings: how this register is configured (no secrets). */
export const AdminSettings = Type.Object({
  mode: StringEnum([...MODES]),
  origin: Type.String(),
  'rp-id': Type.String(),
  'rp-name': Type.String(),
  smtp: Type.Object({ configured: Type.Boolean(), target: Nullable(Type.String()) }),
  'data-dir': Nullable(Type.String()),
  version: Type.String(),
});

/** The sandbox clock [ours]. */
export const ClockState = Type.Object({
  now: Type.String(),
  'offset-ms': Type.Integer(),
  mode: StringEnum([...MODES]),
});

/** What ran on the way when the sandbox clock moved. */
export const ClockRan = Type.Object(
  {
    steps: Type.Integer({ description: 'Due instants the clock stopped at on its way (retry times, expiries, notice windows)' }),
    'webhook-attempts': Type.Integer(),
    'records-expired': Type.Integer(),
    'expiring-notices-queued': Type.Integer(),
    capped: Type.Boolean({ description: 'True when the step bound (1000) was reached; what was still due then ran at the target' }),
  },
  { description: 'What ran because of this change' },
);
