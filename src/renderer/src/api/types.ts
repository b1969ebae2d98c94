/**
 * Shapes the console reads from the register (contract v1 + the admin API): each one is the
 * `Static` type of the schema the register validates and documents its answers with
 * (src/shared/schemas), so the console cannot drift from what the API sends.
 */
import type { Static } from 'typebox';
import type { Account as AccountSchema, DataUser } from '../../../shared/schemas/account';
import type { AccessRecordOutput, AccessRecordSummary as AccessRecordSummarySchema, Controller as ControllerSchema } from '../../../shared/schemas/access-record';
import type {
  AdminDelivery,
  AdminDiscovered,
  AdminIdentity,
  AdminIdentityDetail,
  AdminRecord,
  AdminRecordDetail,
  AdminSettings,
  AdminStats,
  AuditEvent as AuditEventSchema,
  AuditVerify as AuditVerifySchema,
  ClockRan,
  ClockState as ClockStateSchema,
  Owner as OwnerSchema,
  TimelineEntry as TimelineEntrySchema,
} from '../../../shared/schemas/admin';
import type { EnvelopeSchema, ListPage, UKAddress as UKAddressSchema } from '../../../shared/schemas/common';
import type { Credential as CredentialSchema, IdentityRecord as IdentityRecordSchema } from '../../../shared/schemas/identity-record';
import type { AdminReIdentifyResult, AdminToken, ExistsAnswer as ExistsAnswerSchema, OutboxMessage as OutboxMessageSchema } from '../../../shared/schemas/reidentification';
import type { AdminWebhookSubscription } from '../../../shared/schemas/webhook';

export type { AccountStatus, Mode, RecordState, Role, TokenMethod as Method, TokenStatus } from '../../../shared/vocabulary';
export { DATA_TYPES, LEGAL_BASES, REVOKE_REASONS } from '../../../shared/vocabulary';

/** What every JSON answer carries (contract §1). */
export type Envelope = { response: Static<typeof EnvelopeSchema> };

/** The paging fields of a list answer (some public lists carry no total). */
export type Page = Partial<Static<typeof ListPage>>;

export type Account = Static<typeof AccountSchema>;
export type DirectoryEntry = Static<typeof DataUser>;
export type Stats = Static<typeof AdminStats>;
export type RecordRow = Static<typeof AdminRecord>;
export type UKAddress = Static<typeof UKAddressSchema>;
export type Controller = Static<typeof ControllerSchema>;
export type FullAccessRecord = Static<typeof AccessRecordOutput>;
export type Owner = Static<typeof OwnerSchema>;
export type TimelineEntry = Static<typeof TimelineEntrySchema>;
export type RecordDetail = Static<typeof AdminRecordDetail>;
export type Credential = Static<typeof CredentialSchema>;
export type IdentityRecord = Static<typeof IdentityRecordSchema>;
export type IdentityRow = Static<typeof AdminIdentity>;
export type AccessRecordSummary = Static<typeof AccessRecordSummarySchema>;
export type Token = Static<typeof AdminToken>;
export type IdentityDetail = Static<typeof AdminIdentityDetail>;
export type ExistsAnswer = Static<typeof ExistsAnswerSchema>;
export type ReIdentifyResponse = Static<typeof AdminReIdentifyResult>;
export type DiscoveredRow = Static<typeof AdminDiscovered>;
export type Webhook = Static<typeof AdminWebhookSubscription>;
export type Delivery = Static<typeof AdminDelivery>;
export type OutboxMessage = Static<typeof OutboxMessageSchema>;
export type AuditEvent = Static<typeof AuditEventSchema>;
export type AuditVerify = Static<typeof AuditVerifySchema>;
export type Settings = Static<typeof AdminSettings>;
/** The clock; after a change, also what ran on the way to the new time. */
export type ClockState = Static<typeof ClockStateSchema> & { ran?: Static<typeof ClockRan> };
