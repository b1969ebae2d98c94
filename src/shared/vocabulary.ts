/**
 * The register's fixed vocabularies (contract §5, §11), shared by the register (validation,
 * customer pages) and the operator console, so a list is never written twice.
 */
/**
 * Account roles (contract §2). `support` is a console-only role for phone support: it reads
 * and runs the re-identification desk, and changes no account, record or setting.
 */
export const ROLES = ['data_user', 'data_provider', 'dcc', 'portal', 'admin', 'support'] as const;
export type Role = (typeof ROLES)[number];
/** The people who use the operator console. */
export const STAFF_ROLES = ['admin', 'support'] as const satisfies readonly Role[];

/** Account lifecycle (contract §10): suspension is reversible, termination is not. */
export const ACCOUNT_STATUSES = ['active', 'suspended', 'terminated'] as const;
export type AccountStatus = (typeof ACCOUNT_STATUSES)[number];

/** Sandbox (clock, snapshots, mail catcher) or production [ours]. */
export const MODES = ['sandbox', 'production'] as const;
export type Mode = (typeof MODES)[number];

/** Access record states (contract §5); DISCOVERED rows come from the DCC. */
export const RECORD_STATES = ['ACTIVE', 'EXPIRED', 'REVOKED', 'DISCOVERED'] as const;
export type RecordState = (typeof RECORD_STATES)[number];

/** How a customer proves who they are again (contract §7). */
export const TOKEN_METHODS = ['magic-link', 'passkey-assert', 'passkey-register'] as const;
export type TokenMethod = (typeof TOKEN_METHODS)[number];
/** A token started for one identity record (`record`) or found by MPxN across Data Users (`mpxn`). */
export const TOKEN_FLOWS = ['record', 'mpxn'] as const;
export type TokenFlow = (typeof TOKEN_FLOWS)[number];
/** A token's status as the operator console sees it. */
export const TOKEN_STATUSES = ['pending', 'confirmed', 'consumed', 'expired', 'cancelled'] as const;
export type TokenStatus = (typeof TOKEN_STATUSES)[number];
/** A token's status as its Data User polls it (contract §7): consumed and cancelled read as expired. */
export const POLLED_TOKEN_STATUSES = ['pending', 'confirmed', 'expired'] as const satisfies readonly TokenStatus[];

/** Contract §9: the events a webhook subscription can take. */
export const WEBHOOK_EVENT_TYPES = ['consent.expiring', 'tenancy.change', 'consent.withdrawal'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** The event types a test event can take (contract §9 types plus webhook.test). */
export const TEST_EVENT_TYPES = ['webhook.test', 'consent.withdrawal', 'consent.expiring', 'tenancy.change'] as const satisfies readonly ('webhook.test' | WebhookEventType)[];
export type TestEventType = (typeof TEST_EVENT_TYPES)[number];
export const DELIVERY_STATUSES = ['pending', 'delivered', 'undelivered'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** The register's outbox: captured (sandbox, no SMTP) or on its way through SMTP. */
export const MAIL_STATUSES = ['captured', 'queued', 'retrying', 'sent', 'failed'] as const;
export type MailStatus = (typeof MAIL_STATUSES)[number];

export const DATA_TYPES = ['HH-CONSUMPTION', 'HH-EXPORT', 'MTH-CONSUMPTION', 'MTH-EXPORT', 'ANNUAL-CONSUMPTION', 'ANNUAL-EXPORT', 'TARIFF-IMPORT', 'TARIFF-EXPORT'] as const;

export const LEGAL_BASES = ['uk-consent', 'uk-explicit-consent', 'uk-legitimate-interests', 'uk-public-task', 'uk-legal-obligation', 'uk-contract'] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

/** Bases a customer (or a portal on their behalf) may withdraw. */
export const CONSENT_BASES: readonly string[] = ['uk-consent', 'uk-explicit-consent'];

export const REVOKE_REASONS = ['customer-request', 'contract-ended', 'lia-lapsed', 'statutory-authority-lapsed', 'data-no-longer-required', 'other'] as const;
export type RevokeReason = (typeof REVOKE_REASONS)[number];

/** Why access was withdrawn, as customers are told it (portal, downloads, receipts). */
export const REVOKE_REASON_PLAIN: Record<string, string> = {
  'customer-request': 'you asked for it to stop',
  'contract-ended': 'the contract ended',
  'lia-lapsed': 'the organisation’s legitimate-interest assessment lapsed',
  'statutory-authority-lapsed': 'the legal authority for it lapsed',
  'data-no-longer-required': 'the organisation no longer needs the data',
  other: 'another reason',
};

/** What customers are told (contract §11). */
export const LEGAL_BASIS_PLAIN: Record<string, string> = {
  'uk-consent': 'You gave permission',
  'uk-explicit-consent': 'You gave explicit permission',
  'uk-legitimate-interests': 'Legitimate business interest',
  'uk-public-task': 'Public or regulatory duty',
  'uk-legal-obligation': 'Legal obligation',
  'uk-contract': 'Contract',
};

/** Data types in words a customer understands. */
export const DATA_TYPE_PLAIN: Record<string, string> = {
  'HH-CONSUMPTION': 'Half-hourly electricity use',
  'HH-EXPORT': 'Half-hourly electricity exported',
  'MTH-CONSUMPTION': 'Monthly electricity use',
  'MTH-EXPORT': 'Monthly electricity exported',
  'ANNUAL-CONSUMPTION': 'Yearly electricity use',
  'ANNUAL-EXPORT': 'Yearly electricity exported',
  'TARIFF-IMPORT': 'Your import tariff',
  'TARIFF-EXPORT': 'Your export tariff',
};
