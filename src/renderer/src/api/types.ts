/** Shapes the console reads from the register (contract v1 + the admin API). */

export type { Role } from '../../../shared/vocabulary';
import type { Role } from '../../../shared/vocabulary';
export type AccountStatus = 'active' | 'suspended' | 'terminated';
export type RecordState = 'ACTIVE' | 'EXPIRED' | 'REVOKED' | 'DISCOVERED';
export type TokenStatus = 'pending' | 'confirmed' | 'expired' | 'consumed' | 'cancelled';
export type Method = 'magic-link' | 'passkey-assert' | 'passkey-register';
export type Mode = 'sandbox' | 'production';

export { DATA_TYPES, LEGAL_BASES, REVOKE_REASONS } from '../../../shared/vocabulary';

export interface Envelope {
  response: { resource: string; timestamp: string; 'transaction-id': string };
}

export interface Page {
  total?: number;
  'next-cursor'?: string | null;
}

export interface Account {
  'account-id': string;
  duid: string;
  'display-name': string;
  role: Role;
  status: AccountStatus;
  'contact-url': string | null;
  'registered-at': string;
  'suspended-at': string | null;
  'terminated-at'?: string | null;
  'data-types-supported': string[];
  'organisation-reference': string | null;
  'return-urls': string[];
}

export interface DirectoryEntry {
  duid: string;
  'display-name': string;
  status: AccountStatus;
  'registered-at': string;
  'suspended-at': string | null;
  'contact-url': string | null;
  'data-types-supported': string[];
}

export interface Stats {
  accounts: { 'by-role': Record<string, number>; 'by-status': Record<string, number> };
  'access-records': { total: number; 'by-state': Record<string, number>; 'by-legal-basis': Record<string, number> };
  'identity-records': { total: number; anonymised: number };
  reidentifications: { pending: number; confirmed: number; expired: number; consumed: number };
  webhooks: { subscriptions: number; pending: number; undelivered: number };
  discovered: { total: number; superseded: number };
  'audit-events': number;
  mode: Mode;
  now: string;
}

export interface RecordRow {
  ak: string;
  duid: string | null;
  mpxn: string;
  state: RecordState;
  'legal-basis': string | null;
  purpose: string | null;
  'data-types': string[];
  'lead-controller-name': string | null;
  'arrangement-type': string | null;
  'controller-count': number | null;
  expiry: string | null;
  'created-at': string;
  'revoked-at': string | null;
  /** DISCOVERED rows: the organisation the DCC observed. */
  'organisation-name'?: string | null;
  /** The owning Data User's display name. */
  'data-user-name'?: string | null;
}

export interface UKAddress {
  addressLine1: string;
  addressLine2?: string | null;
  townCity: string;
  county?: string | null;
  postcode: string;
}

export interface Controller {
  name: string;
  role: string;
  'contact-url': string;
  address?: UKAddress | null;
  'privacy-rights-url'?: string | null;
  'lia-reference'?: string | null;
  'statutory-reference'?: string | null;
  'storage-conditions'?: { location?: string; 'retention-period'?: string } | null;
}

export interface FullAccessRecord {
  'record-metadata': {
    'schema-version'?: string;
    'record-identifier'?: string;
    'created-at'?: string;
    'controller-arrangement'?: { 'arrangement-type'?: string; 'art26-reference'?: string | null; controllers?: Controller[] };
    'identity-record-ref'?: string | null;
  };
  notice?: {
    'shared-notice'?: { 'terms-url': string; 'notice-version': string; 'notice-language'?: string | null } | null;
    notices?: Array<{ 'controller-name': string; 'terms-url': string; 'notice-version': string; 'notice-language'?: string | null }> | null;
  } | null;
  processing?: {
    'legal-basis'?: string;
    purpose?: string;
    'data-types'?: string[];
    jurisdiction?: string;
    'data-source'?: string | null;
    recipients?: Array<{ name: string; role: string; 'privacy-url'?: string | null }> | null;
  } | null;
  'access-event'?: {
    state?: RecordState;
    'registered-at'?: string;
    expiry?: string | null;
    'controller-reference'?: string | null;
    consent?: { 'consent-type'?: string; method?: string | null } | null;
    'revoked-at'?: string | null;
    'revocation-reason'?: string | null;
  } | null;
  'discovered-access'?: DiscoveredRow | null;
}

export interface Owner {
  duid: string;
  'display-name': string;
  'account-id'?: string;
}

export interface TimelineEntry {
  at: string;
  'event-type': string;
  actor: string | null;
  detail: unknown;
}

export interface RecordDetail extends RecordRow {
  /** Linked identity record (hidden from the public record). */
  ir?: string | null;
  'access-record': FullAccessRecord;
  owner: Owner | null;
  timeline: TimelineEntry[];
}

export interface Credential {
  'credential-id': string;
  'registered-at': string;
  transports: string[];
}

export interface IdentityRecord {
  ir: string;
  'created-at': string;
  'pii-principal': { mpxn: string; 'move-in-date': string; address?: UKAddress | null } | null;
  'expressed-by': string | null;
  'principal-verification': {
    method?: string;
    'verified-at'?: string;
    outcome?: string;
    reference?: string | null;
    submitted?: unknown;
    'verified-against'?: unknown;
    detail?: unknown;
  } | null;
  'has-email': boolean;
  credentials: Credential[];
  'anonymised-at': string | null;
}

export interface IdentityRow extends IdentityRecord {
  duid: string;
  'owner-display-name': string;
  'access-record-count': number;
}

export interface AccessRecordSummary {
  ak: string;
  'lead-controller-name': string | null;
  'arrangement-type': string | null;
  'controller-count'?: number | null;
  'legal-basis': string | null;
  purpose: string | null;
  'data-types': string[];
  state: RecordState;
  expiry: string | null;
  'discovered-access'?: DiscoveredRow | null;
}

export interface Token {
  'token-ref': string;
  method: Method;
  flow: 'record' | 'mpxn';
  mpxn: string;
  'initiator-account-id': string;
  'initiator-display-name': string;
  status: TokenStatus;
  'created-at': string;
  'expires-at': string;
  'confirmed-at': string | null;
  'consumed-at': string | null;
  'dispatched-to': string | null;
}

export interface IdentityDetail {
  'identity-record': IdentityRecord;
  /** The e-mail on file: masked unless revealed. */
  email?: string | null;
  /** Address and e-mail are masked until "Reveal" (an audited read). */
  masked?: boolean;
  owner: Owner | null;
  'access-records': AccessRecordSummary[];
  tokens: Token[];
}

export interface ExistsAnswer {
  mpxn: string;
  exists: boolean;
  'available-methods': Method[];
}

export interface ReIdentifyResponse {
  method: Method;
  'magic-link': { 'dispatched-to': string; 'expires-at': string; 'token-ref': string; 'redirect-url': string | null } | null;
  passkey: { 'redirect-url': string; 'token-ref': string; 'expires-at': string; 'return-url': string | null } | null;
  'customer-url'?: string | null;
}

export interface DiscoveredRow {
  ak: string;
  mpxn: string;
  'organisation-name': string;
  'organisation-reference': string;
  'first-seen': string;
  'last-seen': string | null;
  'data-types-observed': string[];
  'source-reference': string;
  'superseded-by': string | null;
  state: string;
}

export interface Webhook {
  wid: string;
  duid: string;
  'callback-url': string;
  'alert-email': string | null;
  'notify-days-before': number;
  'event-types': string[];
  'created-at': string;
  active: boolean;
}

export interface Delivery {
  'event-id': string;
  wid: string;
  duid: string;
  /** The subscribing Data User's display name (admin list). */
  'data-user-name'?: string | null;
  'event-type': string;
  status: 'pending' | 'delivered' | 'undelivered';
  attempts: number;
  'next-attempt-at': string | null;
  'last-status-code': number | null;
  'last-error': string | null;
  'occurred-at': string;
  'delivered-at': string | null;
  payload: unknown;
  'attempt-log': Array<{
    attempt: number;
    at: string;
    'status-code': number | null;
    'duration-ms': number | null;
    error: string | null;
    'request-headers'?: Record<string, string> | null;
    'response-headers'?: Record<string, string> | null;
    'response-body'?: string | null;
  }>;
}

export interface OutboxMessage {
  id: string;
  /** The From: header. */
  from?: string;
  to: string;
  subject: string;
  text: string | null;
  html: string | null;
  links: string[];
  'created-at': string;
  status: string;
  /** e.g. reidentification.magic-link */
  purpose?: string | null;
  /** Related id, e.g. the token-ref of a magic link. */
  ref?: string | null;
  attempts?: number;
  'next-attempt-at'?: string | null;
  'last-error'?: string | null;
  'sent-at'?: string | null;
}

export interface AuditEvent {
  id: string | number;
  at: string;
  actor: string;
  'event-type': string;
  ak: string | null;
  ir: string | null;
  subject: string | null;
  detail: unknown;
  /** null until the register has linked the event into the chain (a second or two after it was written). */
  hash: string | null;
  'prev-hash': string | null;
}

export interface AuditVerify {
  intact: boolean;
  checked: number;
  'first-broken-id': string | number | null;
  reason: string | null;
}

export interface Settings {
  mode: Mode;
  origin: string;
  'rp-id': string;
  'rp-name': string;
  smtp: { configured: boolean; target: string | null };
  'data-dir': string | null;
  version: string;
}

export interface ClockState {
  now: string;
  'offset-ms': number;
  mode: Mode;
  /** After a change: what ran on the way to the new time. */
  ran?: { steps: number; 'webhook-attempts': number; 'records-expired': number; 'expiring-notices-queued': number; capped: boolean };
}
