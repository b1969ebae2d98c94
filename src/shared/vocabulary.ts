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

export const DATA_TYPES = ['HH-CONSUMPTION', 'HH-EXPORT', 'MTH-CONSUMPTION', 'MTH-EXPORT', 'ANNUAL-CONSUMPTION', 'ANNUAL-EXPORT', 'TARIFF-IMPORT', 'TARIFF-EXPORT'] as const;

export const LEGAL_BASES = ['uk-consent', 'uk-explicit-consent', 'uk-legitimate-interests', 'uk-public-task', 'uk-legal-obligation', 'uk-contract'] as const;
export type LegalBasis = (typeof LEGAL_BASES)[number];

/** Bases a customer (or a portal on their behalf) may withdraw. */
export const CONSENT_BASES: readonly string[] = ['uk-consent', 'uk-explicit-consent'];

export const REVOKE_REASONS = ['customer-request', 'contract-ended', 'lia-lapsed', 'statutory-authority-lapsed', 'data-no-longer-required', 'other'] as const;

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
