import http from 'node:http';
import { dateRange, listSort, sortedChunks, sortedPage, type Sort, type SortDir } from '../lib/listing.js';
import https from 'node:https';
import { isIP } from 'node:net';
import { and, asc, count, eq, exists, inArray, isNull, lte, ne, notInArray, sql, type SQL } from 'drizzle-orm';
import type { Register } from '../context.js';
import type * as schema from '../db/schema.js';
import { affectedRows } from '../db/store.js';
import { apiTime } from '../lib/clock.js';
import { conflict, notFound } from '../lib/errors.js';
import { newId, newSecret } from '../lib/ids.js';
import { checkCallbackUrlForm, guardedLookup, internalAddressKind } from '../lib/net-guard.js';
import { signatures } from '../lib/webhook-signature.js';
import type { EventPublisher } from './events.js';
import type { Worker } from './worker.js';
import { webhookUndeliveredEmail } from './mail/templates.js';
import type { WebhookRow, Webhooks } from './webhooks.js';
import type { DeliveryStatus, TestEventType, WebhookEventType } from '../../shared/vocabulary.js';
import { errorForLog } from '../http/log-redaction.js';
import { ONE_ROW, literalLimit } from '../lib/sql.js';

export const DELIVERY_SORTS = ['created', 'next-attempt', 'status'] as const;
type DeliverySort = (typeof DELIVERY_SORTS)[number];
export interface AdminDeliveryFilters {
  wid?: string;
  /** The subscribing Data User's DUID. */
  duid?: string;
  eventType?: string;
  status?: string;
  from?: string;
  to?: string;
  sort?: DeliverySort;
  order?: SortDir;
}
export type DeliveryRow = typeof schema.webhookDeliveries.$inferSelect;
export type AttemptRow = typeof schema.webhookAttempts.$inferSelect;

/** The slice of the register's mail module this worker needs (services/mail/mailer.ts). */
export interface AlertMail {
  queue(input: { to: string; subject: string; text: string; html: string; purpose: string; ref?: string | null }): Promise<string>;
}

export interface SendOutcome {
  ok: boolean;
  statusCode: number | null;
  durationMs: number;
  error: string | null;
  /** The request headers as sent (null when the request was refused before sending). */
  requestHeaders: Record<string, string> | null;
  /** The response's headers and the first RESPONSE_BODY_BYTES of its body, when one came. */
  responseHeaders: Record<string, string> | null;
  responseBody: string | null;
}

/** Of a receiver's answer, this much of the body is kept for inspection. */
export const RESPONSE_BODY_BYTES = 4096;
/** After the response head, the body is read for at most this long. */
const BODY_READ_MS = 1000;

/** A sample MPAN for test payloads (the demo meter point's form; not a real supply). */
const SAMPLE_MPAN = '2312345678901';

const flatHeaders = (h: http.IncomingHttpHeaders): Record<string, string> =>
  Object.fromEntries(
    Object.entries(h)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => [k, Array.isArray(v) ? v.join(', ') : String(v)]),
  );

/** Events one bulk redelivery queues at most. */
export const MAX_BULK_REDELIVER = 1000;
/** Deliveries in flight at once (per register). */
const MAX_CONCURRENT = 8;
/** Rows claimed per query. */
const CLAIM_BATCH = 50;
/** A claimed row is leased for the request timeout plus this margin; a crash mid-delivery makes it due again afterwards. */
export const LEASE_MARGIN_MS = 60_000;
const USER_AGENT = 'DAR-Webhooks/1.0';

const eventId8 = () => newId('evt').slice(4, 12).toUpperCase();

/**
 * Delivers the durable webhook outbox (contract §9).
 *
 * - Rows are claimed with a lease (next_attempt_at pushed past the request timeout, and a fresh
 *   random lease_token) in one transaction, so a crash mid-delivery only delays that row until
 *   the lease runs out. Only the claim holding the row's current lease_token may record the
 *   outcome (`where seq = ? and lease_token = ?`, one row changed or nothing is written): a
 *   worker whose lease ran out, on this node or another sharing the database, and whose row
 *   was claimed again meanwhile, cannot overwrite the newer claim's outcome. The claim's own
 *   update is conditional on the row still being due, so two nodes never hold one row; on
 *   PostgreSQL the claim's select also locks the rows it picks and passes over those another
 *   node is claiming at that moment (`for update skip locked`), so the nodes take different rows.
 * - Each attempt is recorded in webhook_attempts with its status code, duration and error.
 * - 2xx within the timeout = delivered. Otherwise the next attempt is scheduled from
 *   config.webhookRetryScheduleMs (persisted in next_attempt_at, so it survives restarts);
 *   when the schedule is used up the row becomes `undelivered` and an alert e-mail is
 *   queued to the subscription's alert-email in the same transaction.
 * - Same event-id and the same body on every attempt; fresh signatures and timestamps.
 * - Woken when an event is published; otherwise polls every config.webhookPollMs.
 */
export class DeliveryWorker implements Worker {
  readonly name = 'webhook-delivery';

  private started = false;
  private stopping = false;
  private pumpQueued = false;
  /** The pump claiming rows now (a claim is asynchronous); pumps run one at a time. */
  private pumping: Promise<void> | null = null;
  /** Kicked while a pump was claiming: pump again once it is done. */
  private pumpAgain = false;
  private timer: NodeJS.Timeout | null = null;
  private readonly inflight = new Map<string, { controller: AbortController; done: Promise<void> }>();
  /**
   * Bumped when the register's state is replaced (a sandbox snapshot restored or reset): a
   * delivery claimed before then is neither sent nor recorded afterwards.
   */
  private generation = 0;

  constructor(
    private readonly reg: Register,
    private readonly webhooks: Webhooks,
    private readonly events: EventPublisher,
    private readonly mail: AlertMail,
  ) {}

  private get schedule(): number[] {
    return this.reg.config.webhookRetryScheduleMs;
  }

  /** Attempts a delivery gets in all: the first plus one per retry delay. */
  get maxAttempts(): number {
    return this.schedule.length + 1;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.stopping = false;
    this.events.onPublished = () => this.kick();
    this.timer = setInterval(() => this.kick(), this.reg.config.webhookPollMs);
    this.timer.unref();
    this.kick();
  }

  /** Stops claiming; aborts requests in flight and hands their rows back (due at once), then returns. */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.events.onPublished) this.events.onPublished = undefined;
    // A claim in progress launches its rows first, so they are aborted and handed back with the rest.
    await this.pumping;
    for (const f of this.inflight.values()) f.controller.abort();
    await Promise.all([...this.inflight.values()].map((f) => f.done));
    this.started = false;
  }

  /**
   * The database now holds another state (sandbox snapshot restore or reset): deliveries in
   * flight belong to the old one, so they are aborted and their outcomes are not recorded.
   * Rows the restored state holds as pending are delivered as that state says.
   */
  discardInFlight(): void {
    this.generation++;
    for (const f of this.inflight.values()) f.controller.abort();
    this.kick();
  }

  /** Asks the worker to look for due rows soon (after the current transaction has committed). */
  kick(): void {
    if (!this.started || this.stopping) return;
    // Called inside a unit (a redelivery, a publish), the claim must see what it wrote: on
    // PostgreSQL that is only once it has committed, and on another connection.
    this.reg.store.afterCommit(() => {
      if (this.pumpQueued) return;
      this.pumpQueued = true;
      setImmediate(() => {
        this.pumpQueued = false;
        this.pump();
      });
    });
  }

  private pump(): void {
    if (!this.started || this.stopping) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    const free = MAX_CONCURRENT - this.inflight.size;
    if (free <= 0) return;
    const generation = this.generation;
    this.pumping = this.claim(free)
      .then((rows) => {
        for (const row of rows) this.launch(row, generation);
      })
      .catch((err) => console.error('webhook delivery claim failed', errorForLog(err)))
      .finally(() => {
        this.pumping = null;
        if (this.pumpAgain) {
          this.pumpAgain = false;
          this.kick();
        }
      });
  }

  /** Delivers a claimed row in the background; `generation` is the state it was claimed in. */
  private launch(row: DeliveryRow, generation: number): void {
    const controller = new AbortController();
    const done = this.deliver(row, controller.signal, generation)
      .catch((err) => console.error(`webhook delivery ${row.eventId} failed unexpectedly`, errorForLog(err)))
      .finally(() => {
        this.inflight.delete(row.eventId);
        this.kick();
      });
    this.inflight.set(row.eventId, { controller, done });
  }

  /**
   * Delivers everything due now, waiting for the outcomes, until nothing is due and no
   * delivery is in flight (also those the background loop started). For the sandbox clock
   * and for tests that run a register without background workers. Returns attempts made.
   */
  async runDue(): Promise<number> {
    let attempts = 0;
    for (;;) {
      const generation = this.generation;
      const rows = await this.claim(MAX_CONCURRENT);
      if (rows.length === 0) {
        if (this.inflight.size === 0 && !this.pumping) return attempts;
        // The background loop holds leases on these rows (or is claiming some): wait for their
        // outcomes so the caller sees the state after them (their next attempt time, not the lease).
        await this.pumping;
        await Promise.all([...this.inflight.values()].map((f) => f.done));
        continue;
      }
      await Promise.all(
        rows.map((row) => {
          const controller = new AbortController();
          const done = this.deliver(row, controller.signal, generation).finally(() => this.inflight.delete(row.eventId));
          this.inflight.set(row.eventId, { controller, done });
          return done;
        }),
      );
      attempts += rows.length;
    }
  }

  /** The earliest next-attempt time of a pending delivery to a live, active subscription (ISO), or null. */
  async nextDueAt(): Promise<string | null> {
    const { webhooks, webhookDeliveries } = this.reg.store.tables;
    const live = this.reg.db
      .select({ one: sql`1` })
      .from(webhooks)
      .where(and(eq(webhooks.wid, webhookDeliveries.wid), eq(webhooks.active, true), isNull(webhooks.deletedAt)));
    const [r] = await this.reg.db
      .select({ at: sql<string | null>`min(${webhookDeliveries.nextAttemptAt})` })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.status, 'pending'), exists(live)));
    return r?.at ?? null;
  }

  /** Claims up to `limit` due rows of live, active subscriptions by leasing them. */
  private async claim(limit: number): Promise<DeliveryRow[]> {
    const { webhooks, webhookDeliveries } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const now = this.reg.clock.iso();
      const live = this.reg.db
        .select({ one: sql`1` })
        .from(webhooks)
        .where(and(eq(webhooks.wid, webhookDeliveries.wid), eq(webhooks.active, true), isNull(webhooks.deletedAt)));
      const filters: SQL[] = [eq(webhookDeliveries.status, 'pending'), lte(webhookDeliveries.nextAttemptAt, now), exists(live)];
      if (this.inflight.size) filters.push(notInArray(webhookDeliveries.eventId, [...this.inflight.keys()]));
      const due = await this.reg.store.dialect.lockRows(
        this.reg.db
          .select({ seq: webhookDeliveries.seq })
          .from(webhookDeliveries)
          .where(and(...filters))
          .orderBy(asc(webhookDeliveries.nextAttemptAt))
          .limit(literalLimit(Math.min(limit, CLAIM_BATCH))),
        { skipLocked: true },
      );
      if (due.length === 0) return [];
      // One token per claim: each row's outcome is recorded against it (see the class comment).
      // Re-checked here (still pending and due): the rows are locked on PostgreSQL, and the
      // condition keeps a row changed meanwhile out of the claim on either engine.
      return this.reg.db
        .update(webhookDeliveries)
        .set({ nextAttemptAt: this.reg.clock.isoIn(this.reg.config.webhookTimeoutMs + LEASE_MARGIN_MS), leaseToken: newSecret(18) })
        .where(
          and(
            inArray(
              webhookDeliveries.seq,
              due.map((d) => d.seq),
            ),
            eq(webhookDeliveries.status, 'pending'),
            lte(webhookDeliveries.nextAttemptAt, now),
          ),
        )
        .returning();
    });
  }

  /** The JSON body of an event: identical on every attempt. */
  static body(e: { eventId: string; eventType: string; occurredAt: string; wid: string; payload: Record<string, unknown> }): string {
    return JSON.stringify({ 'event-id': e.eventId, 'event-type': e.eventType, 'occurred-at': apiTime(e.occurredAt), wid: e.wid, payload: e.payload });
  }

  /** `generation`: the register's state when the row was claimed (see discardInFlight). */
  private async deliver(row: DeliveryRow, signal: AbortSignal, generation: number): Promise<void> {
    const sub = await this.webhooks.find(row.wid);
    const { webhookDeliveries } = this.reg.store.tables;
    if (!sub || sub.deletedAt) {
      await this.reg.tx(async () => {
        await this.reg.db
          .update(webhookDeliveries)
          .set({ status: 'undelivered', nextAttemptAt: null, lastError: 'subscription deleted before delivery', leaseToken: null })
          .where(and(this.holding(row), eq(webhookDeliveries.status, 'pending')));
      });
      return;
    }
    // Group commit: an event leaves the register only once the change it reports is on disk.
    await this.reg.durability.durable();
    // Claimed before the register's state was replaced: not sent (see discardInFlight).
    if (generation !== this.generation) return;
    const at = this.reg.clock.iso();
    const outcome = await this.send(sub, row.eventId, row.eventType, DeliveryWorker.body(row), signal);
    if (generation !== this.generation) return;
    if (signal.aborted && this.stopping) {
      // Shutdown interrupted the request: the outcome is unknown, so it does not count as an
      // attempt. The row is due again at once; the next start delivers it (same event-id).
      await this.reg.tx(async () => {
        await this.reg.db
          .update(webhookDeliveries)
          .set({ nextAttemptAt: this.reg.clock.iso(), leaseToken: null })
          .where(and(this.holding(row), eq(webhookDeliveries.status, 'pending')));
      });
      return;
    }
    await this.record(row, sub, at, outcome);
  }

  /** The row as this claim leased it: same id, same lease token (see the class comment). */
  private holding(claimed: DeliveryRow): SQL {
    const { webhookDeliveries } = this.reg.store.tables;
    return and(eq(webhookDeliveries.seq, claimed.seq), eq(webhookDeliveries.leaseToken, claimed.leaseToken ?? ''))!;
  }

  /**
   * Writes the attempt and the row's next state in one transaction, only while `claimed`'s lease
   * is still the row's: the conditional update comes first, and when it changes nothing (the
   * lease ran out and the row was claimed again, here or on another node) nothing is written.
   */
  private async record(claimed: DeliveryRow, sub: WebhookRow, at: string, outcome: SendOutcome): Promise<void> {
    const eventId = claimed.eventId;
    const { webhookDeliveries, webhookAttempts } = this.reg.store.tables;
    await this.reg.tx(async () => {
      // Locked as it is read (PostgreSQL): the next state is worked out from this row, so a
      // change made on another node meanwhile (subscription deleted, redelivery) waits for it.
      const [row] = await this.reg.store.dialect.lockRows(this.reg.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId)).limit(ONE_ROW));
      if (!row) return;
      const attempts = row.attempts + 1;
      const base = { attempts, lastAttemptAt: at, lastStatusCode: outcome.statusCode, lastError: outcome.error, leaseToken: null };
      let next: Partial<DeliveryRow>;
      let exhausted = false;
      if (outcome.ok) next = { ...base, status: 'delivered', deliveredAt: this.reg.clock.iso(), nextAttemptAt: null };
      // Closed meanwhile (subscription deleted): keep the record of the attempt only.
      else if (row.status !== 'pending') next = base;
      else if (attempts < this.maxAttempts) next = { ...base, nextAttemptAt: this.reg.clock.isoIn(this.schedule[attempts - 1]) };
      else {
        next = { ...base, status: 'undelivered', nextAttemptAt: null, alertedAt: this.reg.clock.iso() };
        exhausted = true;
      }
      if (affectedRows(await this.reg.db.update(webhookDeliveries).set(next).where(this.holding(claimed))) !== 1) return;
      const [{ n: logged }] = await this.reg.db.select({ n: count() }).from(webhookAttempts).where(eq(webhookAttempts.eventId, eventId));
      await this.reg.db.insert(webhookAttempts).values({
        eventId,
        attempt: logged + 1,
        at,
        statusCode: outcome.statusCode,
        durationMs: outcome.durationMs,
        error: outcome.error,
        requestHeaders: outcome.requestHeaders,
        responseHeaders: outcome.responseHeaders,
        responseBody: outcome.responseBody,
      });
      if (!exhausted) return;
      await this.mail.queue(this.alertMessage(sub, { ...row, ...base }));
      await this.reg.audit.append({
        actor: 'register',
        eventType: 'webhook.undelivered',
        subject: sub.wid,
        detail: { 'event-id': eventId, 'event-type': row.eventType, attempts, 'last-error': outcome.error, 'last-status-code': outcome.statusCode },
      });
    });
  }

  private alertMessage(sub: WebhookRow, row: DeliveryRow) {
    const mail = webhookUndeliveredEmail({ ...row, lastAttemptAt: apiTime(row.lastAttemptAt), wid: sub.wid, callbackUrl: sub.callbackUrl, timeoutSeconds: Math.round(this.reg.config.webhookTimeoutMs / 1000) });
    return { to: sub.alertEmail, ...mail, purpose: 'webhook-undelivered', ref: row.eventId };
  }

  /** POSTs one signed event to the subscription's callback URL. Never throws. */
  async send(sub: WebhookRow, eventId: string, eventType: string, body: string, signal?: AbortSignal, extraHeaders: Record<string, string> = {}): Promise<SendOutcome> {
    const started = performance.now();
    const elapsed = () => Math.round(performance.now() - started);
    const none = { ok: false, statusCode: null, requestHeaders: null, responseHeaders: null, responseBody: null };
    const mode = this.reg.config.mode;
    const { url, problems } = checkCallbackUrlForm(sub.callbackUrl, mode);
    if (!url || problems.length) return { ...none, durationMs: elapsed(), error: `refused: ${problems.join('; ')}` };
    const host = url.hostname.replace(/^\[|\]$/g, '');
    if (mode === 'production' && isIP(host) && internalAddressKind(host)) return { ...none, durationMs: elapsed(), error: `refused: ${host} is an internal address` };

    let secrets: string[];
    try {
      secrets = this.webhooks.signingSecrets(sub);
    } catch {
      return { ...none, durationMs: elapsed(), error: 'signing secret cannot be decrypted with this key file' };
    }
    // Transport timestamps are real time (receivers check them against their own clocks),
    // even when a sandbox register's business clock has been advanced.
    const nowMs = Date.now();
    const unix = Math.floor(nowMs / 1000);
    const signed = signatures(secrets, body, eventId, unix);
    const headers: Record<string, string | number> = {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'user-agent': USER_AGENT,
      'x-dar-event': eventType,
      'x-dar-timestamp': `${new Date(unix * 1000).toISOString().slice(0, 19)}Z`,
      'x-dar-signature': signed['x-dar-signature'],
      ...(signed['x-dar-signature-new'] ? { 'x-dar-signature-new': signed['x-dar-signature-new'] } : {}),
      'webhook-id': eventId,
      'webhook-timestamp': String(unix),
      'webhook-signature': signed['webhook-signature'],
      ...extraHeaders,
    };
    const requestHeaders = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k, String(v)]));
    const timeoutMs = this.reg.config.webhookTimeoutMs;

    return new Promise<SendOutcome>((resolve) => {
      let settled = false;
      const finish = (statusCode: number | null, error: string | null, response: { headers: Record<string, string>; body: string } | null = null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        const ok = statusCode !== null && statusCode >= 200 && statusCode < 300 && error === null;
        resolve({
          ok,
          statusCode,
          durationMs: elapsed(),
          error: error ? error.slice(0, 500) : null,
          requestHeaders,
          responseHeaders: response?.headers ?? null,
          responseBody: response?.body ?? null,
        });
      };
      const request = (url.protocol === 'https:' ? https : http).request(url, {
        method: 'POST',
        headers,
        agent: false,
        // Production: the socket's DNS lookup refuses internal addresses (also on rebinding).
        ...(mode === 'production' ? { lookup: guardedLookup(this.webhooks.resolver) } : {}),
      });
      const timer = setTimeout(() => {
        finish(null, `no response within ${timeoutMs} ms`);
        request.destroy();
      }, timeoutMs);
      const onAbort = () => {
        finish(null, 'interrupted: the register is shutting down');
        request.destroy();
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener('abort', onAbort, { once: true });
      request.on('response', (res) => {
        // The answer came within the timeout; its body is read briefly, for inspection only.
        clearTimeout(timer);
        const code = res.statusCode ?? null;
        const error = code !== null && code >= 200 && code < 300 ? null : `HTTP ${code}${code !== null && code >= 300 && code < 400 ? ' (redirects are not followed)' : ''}`;
        const chunks: Buffer[] = [];
        let size = 0;
        const done = () => {
          clearTimeout(drop);
          finish(code, error, { headers: flatHeaders(res.headers), body: Buffer.concat(chunks).subarray(0, RESPONSE_BODY_BYTES).toString('utf8') });
          request.destroy();
        };
        const drop = setTimeout(done, BODY_READ_MS);
        drop.unref();
        res.on('data', (c: Buffer) => {
          if (size < RESPONSE_BODY_BYTES) chunks.push(c);
          size += c.length;
          if (size >= RESPONSE_BODY_BYTES) done();
        });
        res.on('end', done);
        res.on('error', done);
      });
      request.on('error', (err: NodeJS.ErrnoException) => finish(null, err.code && !err.message.includes(err.code) ? `${err.code}: ${err.message}` : err.message));
      request.end(body);
    });
  }

  /**
   * POST /v1/webhooks/{wid}/test: a test event of `eventType`, signed exactly like a real
   * delivery and marked `X-DAR-Test: true`; sent now, never queued or retried. The three
   * real types carry a sample payload of the published shape (contract §9 Payloads) with
   * a fresh random ak, so a receiver can exercise its real handler without it matching any
   * record.
   */
  async sendTest(sub: WebhookRow, eventType: TestEventType = 'webhook.test'): Promise<SendOutcome & { eventId: string; eventType: TestEventType; payload: Record<string, unknown> }> {
    const eventId = newId('evt');
    const payload = this.samplePayload(sub, eventType);
    const body = DeliveryWorker.body({ eventId, eventType, occurredAt: this.reg.clock.iso(), wid: sub.wid, payload });
    const outcome = await this.send(sub, eventId, eventType, body, undefined, { 'x-dar-test': 'true' });
    return { ...outcome, eventId, eventType, payload };
  }

  private samplePayload(sub: WebhookRow, eventType: TestEventType): Record<string, unknown> {
    const now = this.reg.clock.now();
    const day = (offsetDays: number) => new Date(now.getTime() + offsetDays * 86_400_000).toISOString().slice(0, 10);
    switch (eventType) {
      case 'consent.withdrawal':
        return { ak: newId('ak'), mpxn: SAMPLE_MPAN, duid: sub.duid, 'revoked-at': apiTime(now.toISOString()), reason: 'customer-request' };
      case 'consent.expiring':
        return { ak: newId('ak'), mpxn: SAMPLE_MPAN, duid: sub.duid, expiry: `${day(sub.notifyDaysBefore)}T00:00:00Z`, 'days-remaining': sub.notifyDaysBefore };
      case 'tenancy.change':
        return { mpxn: SAMPLE_MPAN, 'effective-date': day(0), 'source-reference': `DCC-COT-TEST-${eventId8()}`, 'affected-aks': [newId('ak'), newId('ak')] };
      default:
        return { duid: sub.duid, message: 'Test event from the Data Access Register. No action is needed.' };
    }
  }

  /** The admin delivery list's filters (docs/api.md "Admin lists"). */
  private adminFilters(q: AdminDeliveryFilters): SQL[] {
    const t = this.reg.store.tables.webhookDeliveries;
    const filters: SQL[] = [];
    if (q.wid) filters.push(eq(t.wid, q.wid));
    if (q.duid) filters.push(eq(t.duid, q.duid));
    if (q.eventType) filters.push(eq(t.eventType, q.eventType));
    if (q.status) filters.push(eq(t.status, q.status));
    filters.push(...dateRange(t.createdAt, q.from, q.to));
    return filters;
  }

  /** Next attempt: only a pending delivery has one (every way out of pending clears it). */
  private adminSort(q: AdminDeliveryFilters): Sort | undefined {
    const t = this.reg.store.tables.webhookDeliveries;
    return listSort<DeliverySort>(this.reg.store.dialect, { 'next-attempt': t.nextAttemptAt, status: t.status }, t.seq, q.sort, q.order);
  }

  private async withLogs(rows: DeliveryRow[]) {
    const logs = new Map<string, AttemptRow[]>();
    if (rows.length) {
      const { webhookAttempts } = this.reg.store.tables;
      const attempts = await this.reg.db
        .select()
        .from(webhookAttempts)
        .where(
          inArray(
            webhookAttempts.eventId,
            rows.map((r) => r.eventId),
          ),
        )
        .orderBy(asc(webhookAttempts.seq));
      for (const a of attempts) logs.set(a.eventId, [...(logs.get(a.eventId) ?? []), a]);
    }
    return rows.map((r) => this.toApi(r, logs.get(r.eventId) ?? []));
  }

  /** GET /v1/admin/deliveries: one sorted, filtered page, with each event's attempt log. */
  async list(q: AdminDeliveryFilters, page: { limit: number; cursor?: string; offset?: number }) {
    const { rows, nextCursor, total } = await sortedPage(this.reg.db, this.reg.store.tables.webhookDeliveries, this.adminFilters(q), this.adminSort(q), page);
    return { deliveries: await this.withLogs(rows), total, nextCursor };
  }

  /** The same deliveries, every one, a chunk at a time (streamed CSV export). */
  async listAll(q: AdminDeliveryFilters) {
    const filters = this.adminFilters(q);
    const { webhookDeliveries } = this.reg.store.tables;
    const [{ n: total }] = await this.reg.db
      .select({ n: count() })
      .from(webhookDeliveries)
      .where(filters.length ? and(...filters) : undefined);
    return { total, chunks: this.logChunks(sortedChunks(this.reg.db, webhookDeliveries, filters, this.adminSort(q), 500, undefined, { count: () => Promise.resolve(total) })) };
  }

  private async *logChunks(chunks: AsyncIterable<DeliveryRow[]> | Iterable<DeliveryRow[]>) {
    for await (const rows of chunks) yield await this.withLogs(rows);
  }

  /** One delivery as the admin API shows it, or undefined. */
  async view(eventId: string) {
    const { webhookDeliveries, webhookAttempts } = this.reg.store.tables;
    const [row] = await this.reg.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId)).limit(ONE_ROW);
    if (!row) return undefined;
    const log = await this.reg.db.select().from(webhookAttempts).where(eq(webhookAttempts.eventId, eventId)).orderBy(asc(webhookAttempts.seq));
    return this.toApi(row, log);
  }

  toApi(row: DeliveryRow, log: AttemptRow[]) {
    return {
      'event-id': row.eventId,
      wid: row.wid,
      duid: row.duid,
      // The columns hold only these values (written by the event publisher and this worker).
      'event-type': row.eventType as WebhookEventType,
      status: row.status as DeliveryStatus,
      // Every attempt ever made (a redelivery starts a fresh retry schedule but keeps the log).
      attempts: log.length,
      'next-attempt-at': row.status === 'pending' ? apiTime(row.nextAttemptAt) : null,
      'last-status-code': row.lastStatusCode,
      'last-error': row.lastError,
      'occurred-at': apiTime(row.occurredAt)!,
      'delivered-at': apiTime(row.deliveredAt),
      payload: row.payload,
      'attempt-log': log.map((a) => ({
        attempt: a.attempt,
        at: apiTime(a.at)!,
        'status-code': a.statusCode,
        'duration-ms': a.durationMs,
        error: a.error,
        'request-headers': a.requestHeaders,
        'response-headers': a.responseHeaders,
        'response-body': a.responseBody,
      })),
    };
  }

  /**
   * Operator action on a filter (the list's): queues again every matching event that is not
   * already pending, whose subscription still exists, and that is not being attempted right
   * now; each keeps its event-id and gets a fresh retry schedule. At most MAX_BULK_REDELIVER
   * per call, oldest first (call again for more). One audit event lists them.
   */
  async redeliverMatching(actor: string, q: { wid?: string; eventType?: string; status?: string }): Promise<{ queued: number; eventIds: string[] }> {
    const { webhooks, webhookDeliveries } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const liveSub = this.reg.db
        .select({ one: sql`1` })
        .from(webhooks)
        .where(and(eq(webhooks.wid, webhookDeliveries.wid), isNull(webhooks.deletedAt)));
      const filters: SQL[] = [ne(webhookDeliveries.status, 'pending'), exists(liveSub)];
      if (q.wid) filters.push(eq(webhookDeliveries.wid, q.wid));
      if (q.eventType) filters.push(eq(webhookDeliveries.eventType, q.eventType));
      if (q.status) filters.push(eq(webhookDeliveries.status, q.status));
      if (this.inflight.size) filters.push(notInArray(webhookDeliveries.eventId, [...this.inflight.keys()]));
      const now = this.reg.clock.iso();
      const rows = await this.reg.db
        .select({ seq: webhookDeliveries.seq, eventId: webhookDeliveries.eventId })
        .from(webhookDeliveries)
        .where(and(...filters))
        .orderBy(asc(webhookDeliveries.seq))
        .limit(literalLimit(MAX_BULK_REDELIVER));
      if (rows.length === 0) return { queued: 0, eventIds: [] };
      await this.reg.db
        .update(webhookDeliveries)
        .set({ status: 'pending', attempts: 0, nextAttemptAt: now, alertedAt: null, deliveredAt: null, leaseToken: null })
        .where(
          inArray(
            webhookDeliveries.seq,
            rows.map((r) => r.seq),
          ),
        );
      const eventIds = rows.map((r) => r.eventId);
      await this.reg.audit.append({
        actor,
        eventType: 'webhook.bulk-redeliver-requested',
        detail: { filter: { ...(q.wid ? { wid: q.wid } : {}), ...(q.eventType ? { 'event-type': q.eventType } : {}), ...(q.status ? { status: q.status } : {}) }, queued: rows.length, 'event-ids': eventIds },
      });
      this.kick();
      return { queued: rows.length, eventIds };
    });
  }

  /** Operator action: queue an event again with the same event-id and a fresh set of attempts. */
  async redeliver(actor: string, eventId: string): Promise<DeliveryRow> {
    const { webhookDeliveries } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const [row] = await this.reg.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.eventId, eventId)).limit(ONE_ROW);
      if (!row) throw notFound(`Delivery ${eventId}`);
      if (this.inflight.has(eventId)) throw conflict(`Delivery ${eventId} is being attempted right now; try again in a moment`);
      const sub = await this.webhooks.find(row.wid);
      if (!sub || sub.deletedAt) throw conflict(`Subscription ${row.wid} was deleted; its events cannot be redelivered`);
      const now = this.reg.clock.iso();
      await this.reg.db.update(webhookDeliveries).set({ status: 'pending', attempts: 0, nextAttemptAt: now, alertedAt: null, deliveredAt: null, leaseToken: null }).where(eq(webhookDeliveries.seq, row.seq));
      await this.reg.audit.append({ actor, eventType: 'webhook.redeliver-requested', subject: row.wid, detail: { 'event-id': eventId, 'previous-status': row.status } });
      this.kick();
      const [updated] = await this.reg.db.select().from(webhookDeliveries).where(eq(webhookDeliveries.seq, row.seq)).limit(ONE_ROW);
      return updated;
    });
  }
}

/** A test event's outcome as the API reports it (Data User and admin routes alike). */
export function testResultToApi(r: SendOutcome & { eventId: string; eventType: TestEventType; payload: Record<string, unknown> }) {
  return {
    'event-id': r.eventId,
    'event-type': r.eventType,
    payload: r.payload,
    delivered: r.ok,
    'status-code': r.statusCode,
    'duration-ms': r.durationMs,
    error: r.error,
    'request-headers': r.requestHeaders,
    'response-headers': r.responseHeaders,
    'response-body': r.responseBody,
  };
}
