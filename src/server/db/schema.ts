/**
 * The register's whole data model, in one place.
 *
 * Conventions:
 * - Every table has an integer `seq` primary key. It orders rows by insertion and is the
 *   cursor for paging (`next-cursor`), so listings never sort on text timestamps.
 * - Public identifiers (ak_, ir_, duid_, …) are unique text columns beside `seq`.
 * - Timestamps are ISO 8601 UTC strings produced by the register's clock.
 * - JSON columns hold arrays/objects exactly as the API speaks them.
 * - Nothing is hard-deleted: rows change state and record when they did.
 */
import { sql } from 'drizzle-orm';
import { blob, index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const json = <T>(name: string) => text(name, { mode: 'json' }).$type<T>();

export const accounts = sqliteTable(
  'accounts',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    accountId: text('account_id').notNull(),
    secretHash: text('secret_hash').notNull(),
    duid: text('duid').notNull(),
    displayName: text('display_name').notNull(),
    role: text('role').notNull(),
    status: text('status').notNull().default('active'),
    contactUrl: text('contact_url'),
    organisationReference: text('organisation_reference'),
    dataTypesSupported: json<string[]>('data_types_supported').notNull(),
    returnUrls: json<string[]>('return_urls').notNull(),
    registeredAt: text('registered_at').notNull(),
    suspendedAt: text('suspended_at'),
    terminatedAt: text('terminated_at'),
    reactivatedAt: text('reactivated_at'),
    secretRotatedAt: text('secret_rotated_at'),
    updatedAt: text('updated_at').notNull(),
    /**
     * Bearer tokens issued before this instant (real time, ms since the epoch) answer 401:
     * set on secret rotation, suspension, termination and "sign out everywhere".
     */
    tokensValidAfter: integer('tokens_valid_after').notNull().default(0),
  },
  (t) => [
    uniqueIndex('accounts_account_id_uq').on(t.accountId),
    uniqueIndex('accounts_duid_uq').on(t.duid),
    index('accounts_role_idx').on(t.role, t.seq),
    // Organisation references match ignoring case (contract §8): the index folds case too.
    index('accounts_org_ref_idx').on(sql`${t.organisationReference} collate nocase`),
    index('accounts_display_name_idx').on(sql`${t.displayName} collate nocase`),
  ],
);

export const identityRecords = sqliteTable(
  'identity_records',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    ir: text('ir').notNull(),
    duid: text('duid').notNull(),
    mpxn: text('mpxn'),
    moveInDate: text('move_in_date'),
    address: json<Record<string, string>>('address'),
    expressedBy: text('expressed_by').notNull(),
    principalVerification: json<Record<string, unknown>>('principal_verification'),
    /** HMAC-SHA256 of the normalised address under the register's e-mail HMAC key. */
    emailHash: text('email_hash'),
    /** AES-256-GCM ciphertext of the address (key lives in the key file, not the DB). */
    emailEnc: text('email_enc'),
    /** Random WebAuthn user handle (base64url), stable for the record's passkeys. */
    webauthnUserId: text('webauthn_user_id').notNull(),
    createdAt: text('created_at').notNull(),
    anonymisedAt: text('anonymised_at'),
  },
  (t) => [uniqueIndex('identity_records_ir_uq').on(t.ir), index('identity_records_duid_idx').on(t.duid, t.seq), index('identity_records_mpxn_idx').on(t.mpxn, t.seq), index('identity_records_email_idx').on(t.emailHash)],
);

export const passkeyCredentials = sqliteTable(
  'passkey_credentials',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    credentialId: text('credential_id').notNull(),
    ir: text('ir').notNull(),
    /** The authenticator's credential id, base64url, as WebAuthn knows it. */
    webauthnId: text('webauthn_id').notNull(),
    publicKey: blob('public_key', { mode: 'buffer' }).notNull(),
    counter: integer('counter').notNull().default(0),
    transports: json<string[]>('transports').notNull(),
    deviceType: text('device_type'),
    backedUp: integer('backed_up', { mode: 'boolean' }),
    registeredAt: text('registered_at').notNull(),
    lastUsedAt: text('last_used_at'),
    removedAt: text('removed_at'),
  },
  (t) => [uniqueIndex('passkey_credentials_id_uq').on(t.credentialId), uniqueIndex('passkey_credentials_webauthn_uq').on(t.webauthnId), index('passkey_credentials_ir_idx').on(t.ir)],
);

/** Re-identification tokens (token-ref mlr_…). */
export const reidTokens = sqliteTable(
  'reid_tokens',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    tokenRef: text('token_ref').notNull(),
    method: text('method').notNull(),
    /** 'record' = initiated on the caller's own ir; 'mpxn' = cross-Data-User or portal. */
    flow: text('flow').notNull(),
    ir: text('ir').notNull(),
    mpxn: text('mpxn').notNull(),
    initiatorAccountId: text('initiator_account_id').notNull(),
    initiatorDuid: text('initiator_duid').notNull(),
    status: text('status').notNull().default('pending'),
    createdAt: text('created_at').notNull(),
    /** When the ceremony (link or passkey session) stops accepting completion. */
    ceremonyExpiresAt: text('ceremony_expires_at').notNull(),
    /** When a confirmed token stops being usable (1 h from issue). */
    usableUntil: text('usable_until').notNull(),
    confirmedAt: text('confirmed_at'),
    consumedAt: text('consumed_at'),
    consumedFor: text('consumed_for'),
    /** Portal only: withdrawals allowed with this token until then. */
    withdrawUntil: text('withdraw_until'),
    redirectUrl: text('redirect_url'),
    /** SHA-256 of the magic link's secret; the link carries the secret, never the token-ref. */
    linkSecretHash: text('link_secret_hash'),
    linkOpenedAt: text('link_opened_at'),
  },
  (t) => [
    uniqueIndex('reid_tokens_ref_uq').on(t.tokenRef),
    uniqueIndex('reid_tokens_link_uq').on(t.linkSecretHash),
    index('reid_tokens_ir_idx').on(t.ir, t.seq),
    index('reid_tokens_initiator_idx').on(t.initiatorAccountId, t.mpxn, t.seq),
    index('reid_tokens_status_idx').on(t.status, t.seq),
  ],
);

export const passkeySessions = sqliteTable(
  'passkey_sessions',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    sessionId: text('session_id').notNull(),
    tokenRef: text('token_ref').notNull(),
    kind: text('kind').notNull(),
    ir: text('ir').notNull(),
    challenge: text('challenge'),
    returnUrl: text('return_url'),
    createdAt: text('created_at').notNull(),
    expiresAt: text('expires_at').notNull(),
    usedAt: text('used_at'),
  },
  (t) => [uniqueIndex('passkey_sessions_id_uq').on(t.sessionId), index('passkey_sessions_token_idx').on(t.tokenRef)],
);

/**
 * Access records and DISCOVERED access share one table so that a meter point lists
 * both with one indexed query. `body` is the full record as the API returns it,
 * minus the register-derived fields that live in columns (state, revoked-at, …).
 */
export const accessRecords = sqliteTable(
  'access_records',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    ak: text('ak').notNull(),
    kind: text('kind').notNull(), // 'record' | 'discovered'
    duid: text('duid'),
    ir: text('ir'),
    mpxn: text('mpxn').notNull(),
    state: text('state').notNull(),
    legalBasis: text('legal_basis'),
    arrangementType: text('arrangement_type'),
    leadControllerName: text('lead_controller_name'),
    controllerCount: integer('controller_count'),
    purpose: text('purpose'),
    dataTypes: json<string[]>('data_types').notNull(),
    /** As given by the Data User (date or date-time). */
    expiry: text('expiry'),
    /** `expiry` normalised to a full UTC timestamp for comparisons. */
    expiresAt: text('expires_at'),
    registeredAt: text('registered_at'),
    body: json<Record<string, unknown>>('body'),
    /**
     * A full record's record-metadata section, the text `body` holds for it (null for
     * DISCOVERED rows). Listings splice it into each summary as it is: taking it out of `body`
     * made the database parse the whole body of every listed record (docs/performance.md,
     * "30 November, night: listings"). Written with `body`, by recordColumns only.
     */
    recordMetadata: text('record_metadata'),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    revokedAt: text('revoked_at'),
    revokeReason: text('revoke_reason'),
    revokedBy: text('revoked_by'),
    expiredAt: text('expired_at'),
    /**
     * When the record first gave access in the register: set at creation for a record
     * submitted ACTIVE whose expiry had not already passed; null for one submitted REVOKED or
     * EXPIRED (a historic record) and for DISCOVERED rows. Never cleared by a later
     * revocation or expiry. Only such a record lets a Data User list its meter point
     * (contract §5).
     */
    activatedAt: text('activated_at'),
    // DISCOVERED access
    organisationName: text('organisation_name'),
    organisationReference: text('organisation_reference'),
    firstSeen: text('first_seen'),
    lastSeen: text('last_seen'),
    sourceReference: text('source_reference'),
    supersededBy: text('superseded_by'),
    supersededAt: text('superseded_at'),
  },
  (t) => [
    uniqueIndex('access_records_ak_uq').on(t.ak),
    index('access_records_duid_idx').on(t.duid, t.seq),
    index('access_records_mpxn_idx').on(t.mpxn, t.seq),
    // The meter-point listing's right to list (contract §5): only records that are or have
    // been ACTIVE, so the check is answered from this index alone.
    index('access_records_mpxn_duid_idx')
      .on(t.mpxn, t.duid, t.activatedAt)
      .where(sql`${t.activatedAt} is not null`),
    index('access_records_ir_idx').on(t.ir),
    index('access_records_state_idx').on(t.state, t.seq),
    index('access_records_expiry_idx').on(t.state, t.expiresAt),
    // Partial (docs/performance.md): only DISCOVERED rows carry an organisation reference or name, so full
    // records add no entries to these three indexes — fewer pages written per create.
    // Organisation references match ignoring case (contract §8), so these indexes fold case.
    index('access_records_discovered_idx')
      .on(t.mpxn, sql`${t.organisationReference} collate nocase`)
      .where(sql`${t.organisationReference} is not null`),
    index('access_records_org_ref_idx')
      .on(sql`${t.organisationReference} collate nocase`)
      .where(sql`${t.organisationReference} is not null`),
    index('access_records_kind_idx').on(t.kind, t.seq),
    index('access_records_duid_state_idx').on(t.duid, t.state, t.seq),
    index('access_records_lead_name_idx').on(sql`${t.leadControllerName} collate nocase`),
    index('access_records_org_name_idx')
      .on(sql`${t.organisationName} collate nocase`)
      .where(sql`${t.organisationName} is not null`),
    // Admin lists sort by expiry and filter by creation date at 100 k+ records (docs/api.md "Admin
    // lists"); SQLite appends seq (the rowid) to each entry, so ties come out in seq order.
    index('access_records_expires_at_idx').on(t.expiresAt),
    index('access_records_created_at_idx').on(t.createdAt),
  ],
);

/**
 * How many access records each Data User holds in each stored state, kept by triggers on
 * access_records (migration 0003_record_counts), so GET /v1/records can answer `total`
 * without counting tens of thousands of index entries per page (docs/performance.md).
 * DISCOVERED rows carry no duid and are not counted.
 */
export const accessRecordCounts = sqliteTable(
  'access_record_counts',
  {
    duid: text('duid').notNull(),
    state: text('state').notNull(),
    n: integer('n').notNull(),
  },
  (t) => [primaryKey({ columns: [t.duid, t.state] })],
);

/**
 * Changes to access_record_counts not folded in yet (+1 or -1 per record entering or leaving a
 * state). PostgreSQL's count triggers append here instead of updating the Data User's count
 * row, which would hold that row's lock until commit and so let one Data User's creates commit
 * only one at a time; a background job folds the changes into the counts (services/record-counts.ts),
 * and a count reads both. SQLite, with one writer, updates the counts directly and leaves this empty.
 */
export const accessRecordCountDeltas = sqliteTable(
  'access_record_count_deltas',
  {
    duid: text('duid').notNull(),
    state: text('state').notNull(),
    n: integer('n').notNull(),
  },
  (t) => [index('access_record_count_deltas_duid_idx').on(t.duid, t.state)],
);

export const cotEvents = sqliteTable(
  'cot_events',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    mpxn: text('mpxn').notNull(),
    effectiveDate: text('effective_date').notNull(),
    sourceReference: text('source_reference').notNull(),
    activeRecordsAffected: integer('active_records_affected').notNull(),
    dataUsersNotified: json<string[]>('data_users_notified').notNull(),
    createdBy: text('created_by').notNull(),
    createdAt: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('cot_events_triple_uq').on(t.mpxn, t.effectiveDate, t.sourceReference)],
);

export const webhooks = sqliteTable(
  'webhooks',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    wid: text('wid').notNull(),
    duid: text('duid').notNull(),
    callbackUrl: text('callback_url').notNull(),
    alertEmail: text('alert_email').notNull(),
    notifyDaysBefore: integer('notify_days_before').notNull(),
    eventTypes: json<string[]>('event_types').notNull(),
    /** Signing secret, AES-256-GCM encrypted (it must be recoverable to sign). */
    secretEnc: text('secret_enc').notNull(),
    previousSecretEnc: text('previous_secret_enc'),
    previousSecretUntil: text('previous_secret_until'),
    active: integer('active', { mode: 'boolean' }).notNull().default(true),
    createdAt: text('created_at').notNull(),
    updatedAt: text('updated_at').notNull(),
    deletedAt: text('deleted_at'),
  },
  (t) => [
    uniqueIndex('webhooks_wid_uq').on(t.wid),
    index('webhooks_duid_idx').on(t.duid, t.seq),
    uniqueIndex('webhooks_duid_url_uq')
      .on(t.duid, t.callbackUrl)
      .where(sql`${t.deletedAt} is null`),
  ],
);

/** One row per event per subscription: the durable webhook outbox. */
export const webhookDeliveries = sqliteTable(
  'webhook_deliveries',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    eventId: text('event_id').notNull(),
    wid: text('wid').notNull(),
    duid: text('duid').notNull(),
    eventType: text('event_type').notNull(),
    /** The record an event is about, where there is one (dedupes consent.expiring). */
    ak: text('ak'),
    payload: json<Record<string, unknown>>('payload').notNull(),
    occurredAt: text('occurred_at').notNull(),
    status: text('status').notNull().default('pending'), // pending | delivered | undelivered
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: text('next_attempt_at'),
    lastAttemptAt: text('last_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    deliveredAt: text('delivered_at'),
    alertedAt: text('alerted_at'),
    /**
     * Set to a fresh random value by each claim (services/delivery-worker.ts); only the claim
     * holding it may record the attempt's outcome. Null when nobody holds the row.
     */
    leaseToken: text('lease_token'),
    createdAt: text('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_event_uq').on(t.eventId),
    index('webhook_deliveries_due_idx').on(t.status, t.nextAttemptAt),
    index('webhook_deliveries_wid_idx').on(t.wid, t.seq),
    index('webhook_deliveries_type_idx').on(t.eventType, t.seq),
    // The admin list's sort by next attempt and its Data User filter (docs/api.md "Admin lists").
    index('webhook_deliveries_next_idx').on(t.nextAttemptAt, t.seq),
    index('webhook_deliveries_duid_idx').on(t.duid, t.seq),
    uniqueIndex('webhook_deliveries_expiring_uq')
      .on(t.wid, t.ak)
      .where(sql`${t.eventType} = 'consent.expiring'`),
  ],
);

export const webhookAttempts = sqliteTable(
  'webhook_attempts',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    eventId: text('event_id').notNull(),
    attempt: integer('attempt').notNull(),
    at: text('at').notNull(),
    statusCode: integer('status_code'),
    durationMs: integer('duration_ms').notNull(),
    error: text('error'),
    /** The request headers exactly as sent (signatures included; never the signing secret). */
    requestHeaders: json<Record<string, string>>('request_headers'),
    /** The response's headers, or null when no response came. */
    responseHeaders: json<Record<string, string>>('response_headers'),
    /** The first 4 KiB of the response body (UTF-8), or null when no response came. */
    responseBody: text('response_body'),
  },
  (t) => [index('webhook_attempts_event_idx').on(t.eventId, t.seq)],
);

/** Every e-mail the register sends or captures (sandbox outbox). */
export const mailMessages = sqliteTable(
  'mail_messages',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    messageId: text('message_id').notNull(),
    to: text('to').notNull(),
    subject: text('subject').notNull(),
    text: text('text').notNull(),
    html: text('html').notNull(),
    links: json<string[]>('links').notNull(),
    /**
     * Production: a message carrying a one-time link (magic link) keeps text/html/links with the
     * secret redacted; the deliverable bodies are here, encrypted (AES-256-GCM, key outside the
     * database), only until the message is sent or has failed for good. Sandbox: null.
     */
    sealed: text('sealed'),
    purpose: text('purpose').notNull(),
    ref: text('ref'),
    status: text('status').notNull(), // captured | queued | sent | failed
    attempts: integer('attempts').notNull().default(0),
    nextAttemptAt: text('next_attempt_at'),
    lastError: text('last_error'),
    sentAt: text('sent_at'),
    /** Set by each lease (services/mail.ts); only the lease holding it may record the outcome. */
    leaseToken: text('lease_token'),
    createdAt: text('created_at').notNull(),
  },
  (t) => [uniqueIndex('mail_messages_id_uq').on(t.messageId), index('mail_messages_due_idx').on(t.status, t.nextAttemptAt), index('mail_messages_ref_idx').on(t.ref)],
);

/** Append-only, hash-chained audit log. */
export const auditEvents = sqliteTable(
  'audit_events',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    at: text('at').notNull(),
    actor: text('actor').notNull(),
    eventType: text('event_type').notNull(),
    ak: text('ak'),
    ir: text('ir'),
    subject: text('subject'),
    detail: json<Record<string, unknown>>('detail').notNull(),
    /**
     * The event's own HMAC over its id and content, written at commit ('' on events written
     * before the chain was linked after commit; those were linked as they were written).
     */
    eventHash: text('event_hash').notNull().default(''),
    /** Position in the chain, set by the linker after commit (services/audit.ts); null until then. */
    linkSeq: integer('link_seq'),
    /** The previous link's hash and this link's hash; '' until the event is linked. */
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
  },
  (t) => [
    index('audit_events_actor_idx').on(t.actor, t.seq),
    index('audit_events_type_idx').on(t.eventType, t.seq),
    // Partial, like the subject's (docs/performance.md "Audit indexes"): most events name no
    // record or no identity record, and every lookup by one (`ak = ?`) implies it is not null.
    index('audit_events_ak_idx')
      .on(t.ak, t.seq)
      .where(sql`${t.ak} is not null`),
    index('audit_events_ir_idx')
      .on(t.ir, t.seq)
      .where(sql`${t.ir} is not null`),
    // Partial (docs/performance.md): most events have no subject.
    index('audit_events_subject_idx')
      .on(t.subject, t.seq)
      .where(sql`${t.subject} is not null`),
    // The audit log's date-range filter (docs/api.md "Admin lists").
    index('audit_events_at_idx').on(t.at),
    // The chain in link order (verify, the linker's tip); one position per event.
    uniqueIndex('audit_events_link_uq')
      .on(t.linkSeq)
      .where(sql`${t.linkSeq} is not null`),
    // What the linker has still to link: only the few newest events are ever in it.
    index('audit_events_unlinked_idx')
      .on(t.seq)
      .where(sql`${t.linkSeq} is null`),
  ],
);

/**
 * Portal sessions the customer signed out of. The session itself lives in an encrypted
 * cookie (pages/portal/session.ts); this is what makes sign-out end it on the server, so a
 * copy of the old cookie gets nothing more.
 */
export const endedPortalSessions = sqliteTable(
  'ended_portal_sessions',
  {
    seq: integer('seq').primaryKey({ autoIncrement: true }),
    sessionId: text('session_id').notNull(),
    endedAt: text('ended_at').notNull(),
  },
  (t) => [uniqueIndex('ended_portal_sessions_session_id_uq').on(t.sessionId)],
);

/** Small register-wide settings (sandbox clock offset, …). */
export const settings = sqliteTable('settings', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
  updatedAt: text('updated_at').notNull(),
});

/**
 * Failed sign-ins per throttling key (services/sign-in-throttle.ts), kept in the database so
 * every node sharing it counts the same failures (docs/security.md "Sign-in throttling").
 */
export const signInFailures = sqliteTable(
  'sign_in_failures',
  {
    key: text('key').primaryKey(),
    /** Times of the recent failures (ms since the epoch), oldest first. */
    failures: json<number[]>('failures').notNull(),
    /** The newest failure (ms since the epoch): rows idle past the window are pruned by it. */
    lastAt: integer('last_at').notNull(),
  },
  (t) => [index('sign_in_failures_last_idx').on(t.lastAt)],
);
