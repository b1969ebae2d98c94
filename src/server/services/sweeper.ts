import { and, asc, eq, gt, inArray, isNull, lte, sql } from 'drizzle-orm';
import type { Register } from '../context.js';
import { waitForJobLock } from '../db/store.js';
import { apiTime } from '../lib/clock.js';
import { ONE_ROW, literalLimit } from '../lib/sql.js';
import { CONSENT_BASES } from '../../shared/vocabulary.js';
import type { EventPublisher } from './events.js';
import { PeriodicWorker } from './worker.js';
import { errorForLog } from '../http/log-redaction.js';

const DAY_MS = 24 * 60 * 60 * 1000;
/** DISCOVERED access not seen by the DCC for this long expires (contract §5 lifecycle). */
export const DISCOVERED_TTL_DAYS = 180;
/** The widest notify-days-before a subscription may have (contract §9). */
const MAX_NOTIFY_DAYS = 90;
const BATCH = 500;
const ACTOR = 'register';
/** How long a sweep asked for (run) waits for another node's sweep batch to end before it gives up. */
const JOB_WAIT_MS = 10_000;

export interface SweepResult {
  expired: number;
  discoveredExpired: number;
  expiringQueued: number;
}

/**
 * The record lifecycle sweeper. At start-up, every config.sweepIntervalMs, and at once
 * after the sandbox clock moves, it:
 *
 * 1. moves ACTIVE records whose expiry has passed to EXPIRED (expired_at = the expiry
 *    moment; audit `access-record.expired`). Readers already see them as EXPIRED before
 *    this runs (AccessRecords.effectiveState);
 * 2. moves DISCOVERED access not seen for 180 days to EXPIRED (audit `discovered-access.expired`);
 * 3. queues `consent.expiring` once per (record, subscription) when an ACTIVE consent
 *    record enters the subscription's notify-days-before window. The partial unique index
 *    on (wid, ak) for that event type makes "once" hold across sweeps and restarts.
 *
 * Each batch of at most 500 rows is one transaction; queries use the (state, expires_at) index.
 * Several nodes: the sweep is a job run by one node at a time; each batch's unit takes its
 * job lock first (`store.tryJobLock('sweeper')`) and does nothing when another node holds it
 * (run(), for the sandbox clock, waits for it instead: takeJob).
 */
export class Sweeper extends PeriodicWorker<void> {
  readonly name = 'lifecycle-sweeper';
  private running = false;
  /** True during run(): its batches wait for the job rather than skip it (see takeJob). */
  private waitForJob = false;

  constructor(
    private readonly reg: Register,
    private readonly events: EventPublisher,
  ) {
    super(reg.config.sweepIntervalMs);
  }

  /**
   * The start-up and interval sweeps (docs/performance.md): the same batches as run(), but the event
   * loop is given back between full batches. After downtime (or a bulk import) the first
   * sweep can have tens of thousands of rows to move; in one go it kept the register from
   * answering at all (22 s with 1 M records). With little to do it never yields, as before.
   */
  protected async pass(): Promise<void> {
    if (this.running) return;
    await this.runYielding().catch((err) => console.error('lifecycle sweep failed', errorForLog(err)));
  }

  private async runYielding(): Promise<void> {
    this.running = true;
    try {
      for (const step of [() => this.expireActiveBatch(), () => this.expireDiscoveredBatch(), () => this.queueExpiringBatch()]) {
        for (;;) {
          if (this.stopped) return;
          if ((await this.reg.tx(step)) < BATCH) break;
          await new Promise((r) => setImmediate(r));
        }
      }
    } finally {
      this.running = false;
    }
  }

  /** One full sweep, without giving the event loop back between batches. */
  async run(): Promise<SweepResult> {
    if (this.running) return { expired: 0, discoveredExpired: 0, expiringQueued: 0 };
    this.running = true;
    this.waitForJob = true;
    try {
      return {
        expired: await this.batches(() => this.expireActiveBatch()),
        discoveredExpired: await this.batches(() => this.expireDiscoveredBatch()),
        expiringQueued: await this.batches(() => this.queueExpiringBatch()),
      };
    } finally {
      this.running = false;
      this.waitForJob = false;
    }
  }

  /**
   * Inside a batch's transaction: the sweeper job, or false when another node holds it. A
   * periodic pass skips then (that node is sweeping). A sweep asked for by run() (the sandbox
   * clock that just moved, which answers with what became due) waits for the other node's
   * batch to end instead, up to JOB_WAIT_MS: skipping left the expiries to a later periodic
   * sweep, up to a minute later. SQLite: the job is always free (one writer on the file).
   */
  private takeJob(): Promise<boolean> {
    return this.waitForJob ? waitForJobLock(this.reg.store, 'sweeper', JOB_WAIT_MS) : this.reg.store.tryJobLock('sweeper');
  }

  /**
   * The next instant after now at which a sweep has something new to do, or null: an ACTIVE
   * record's expiry, or a consent record entering a consent.expiring subscriber's
   * notify-days-before window. (DISCOVERED expiry is left to the final sweep: it only
   * changes a state, nothing is sent.) The sandbox clock steps through these in order.
   */
  async nextDueAt(): Promise<string | null> {
    const now = this.reg.clock.iso();
    const [expiry] = await this.reg.store.rows<{ at: string | null }>(sql`select min(expires_at) as at from access_records where state = 'ACTIVE' and expires_at > ${now}`);
    const { accessRecords: r, webhooks: w, webhookDeliveries: d } = this.reg.store.tables;
    const { dialect } = this.reg.store;
    const noticeAt = dialect.isoInstant(r.expiresAt, { sign: '-', count: w.notifyDaysBefore });
    const [notice] = await this.reg.db
      .select({ at: sql<string | null>`min(${noticeAt})` })
      .from(r)
      .innerJoin(w, eq(w.duid, r.duid))
      .where(
        and(
          eq(r.state, 'ACTIVE'),
          eq(r.kind, 'record'),
          gt(r.expiresAt, now),
          inArray(r.legalBasis, [...CONSENT_BASES]),
          eq(w.active, true),
          isNull(w.deletedAt),
          dialect.jsonArrayHas(w.eventTypes, 'consent.expiring'),
          sql`${noticeAt} > ${now}`,
          sql`not exists (select 1 from ${d} where ${d.wid} = ${w.wid} and ${d.ak} = ${r.ak} and ${d.eventType} = 'consent.expiring')`,
        ),
      );
    const times = [expiry?.at, notice?.at].filter((t): t is string => !!t).sort();
    return times[0] ?? null;
  }

  private async batches(step: () => Promise<number>): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.reg.tx(step);
      total += n;
      if (n < BATCH) return total;
    }
  }

  /** One batch (at most BATCH rows); run inside a transaction. */
  private async expireActiveBatch(): Promise<number> {
    if (!(await this.takeJob())) return 0;
    const { accessRecords } = this.reg.store.tables;
    const now = this.reg.clock.iso();
    const due = await this.reg.db
      .select({ seq: accessRecords.seq, ak: accessRecords.ak, ir: accessRecords.ir, expiry: accessRecords.expiry, expiresAt: accessRecords.expiresAt })
      .from(accessRecords)
      .where(and(eq(accessRecords.state, 'ACTIVE'), lte(accessRecords.expiresAt, now)))
      .orderBy(asc(accessRecords.expiresAt))
      .limit(literalLimit(BATCH));
    for (const r of due) {
      await this.reg.db
        .update(accessRecords)
        .set({ state: 'EXPIRED', expiredAt: r.expiresAt, updatedAt: now })
        .where(and(eq(accessRecords.seq, r.seq), eq(accessRecords.state, 'ACTIVE')));
      await this.reg.audit.append({ actor: ACTOR, eventType: 'access-record.expired', ak: r.ak, ir: r.ir, detail: { expiry: r.expiry, 'expired-at': apiTime(r.expiresAt) } });
    }
    return due.length;
  }

  /** One batch (at most BATCH rows); run inside a transaction. */
  private async expireDiscoveredBatch(): Promise<number> {
    if (!(await this.takeJob())) return 0;
    const { accessRecords } = this.reg.store.tables;
    const now = this.reg.clock.iso();
    const cutoff = new Date(this.reg.clock.now().getTime() - DISCOVERED_TTL_DAYS * DAY_MS).toISOString();
    // last-seen is stored as a canonical instant (services/dcc.ts); isoInstant puts it in the
    // millisecond form the cutoff has, so the comparison is between instants.
    const due = await this.reg.db
      .select({ seq: accessRecords.seq, ak: accessRecords.ak, lastSeen: accessRecords.lastSeen, firstSeen: accessRecords.firstSeen, org: accessRecords.organisationReference })
      .from(accessRecords)
      .where(and(eq(accessRecords.state, 'DISCOVERED'), sql`${this.reg.store.dialect.isoInstant(sql`coalesce(${accessRecords.lastSeen}, ${accessRecords.firstSeen})`)} < ${cutoff}`))
      .orderBy(asc(accessRecords.seq))
      .limit(literalLimit(BATCH));
    for (const r of due) {
      await this.reg.db.update(accessRecords).set({ state: 'EXPIRED', expiredAt: now, updatedAt: now }).where(eq(accessRecords.seq, r.seq));
      await this.reg.audit.append({
        actor: ACTOR,
        eventType: 'discovered-access.expired',
        ak: r.ak,
        detail: { 'last-seen': r.lastSeen ?? r.firstSeen, 'organisation-reference': r.org, reason: `not seen for ${DISCOVERED_TTL_DAYS} days` },
      });
    }
    return due.length;
  }

  /** One batch (at most BATCH rows); run inside a transaction. */
  private async queueExpiringBatch(): Promise<number> {
    if (!(await this.takeJob())) return 0;
    const { accessRecords, webhooks, webhookDeliveries } = this.reg.store.tables;
    const { dialect } = this.reg.store;
    // Performance (see docs/performance.md): the query below walks every ACTIVE record expiring within 90 days
    // (≈0.9 s per sweep with 100 k records, ≈8 s with 1 M, blocking requests) even when no
    // subscription takes consent.expiring; then there is nothing to queue, so skip it.
    const anySubscriber = await this.reg.db
      .select({ one: sql`1` })
      .from(webhooks)
      .where(and(eq(webhooks.active, true), isNull(webhooks.deletedAt), dialect.jsonArrayHas(webhooks.eventTypes, 'consent.expiring')))
      .limit(ONE_ROW);
    if (!anySubscriber.length) return 0;
    const nowDate = this.reg.clock.now();
    const now = nowDate.toISOString();
    const horizon = new Date(nowDate.getTime() + MAX_NOTIFY_DAYS * DAY_MS).toISOString();
    const windowEnd = dialect.isoInstant(now, { sign: '+', count: webhooks.notifyDaysBefore });
    const already = this.reg.db
      .select({ one: sql`1` })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.wid, webhooks.wid), eq(webhookDeliveries.ak, accessRecords.ak), eq(webhookDeliveries.eventType, 'consent.expiring')));
    const due = await this.reg.db
      .select({
        ak: accessRecords.ak,
        mpxn: accessRecords.mpxn,
        duid: accessRecords.duid,
        expiry: accessRecords.expiry,
        expiresAt: accessRecords.expiresAt,
        wid: webhooks.wid,
      })
      .from(accessRecords)
      .innerJoin(webhooks, eq(webhooks.duid, accessRecords.duid))
      .where(
        and(
          eq(accessRecords.state, 'ACTIVE'),
          gt(accessRecords.expiresAt, now),
          lte(accessRecords.expiresAt, horizon),
          eq(accessRecords.kind, 'record'),
          inArray(accessRecords.legalBasis, [...CONSENT_BASES]),
          eq(webhooks.active, true),
          sql`${webhooks.deletedAt} is null`,
          dialect.jsonArrayHas(webhooks.eventTypes, 'consent.expiring'),
          sql`${accessRecords.expiresAt} <= ${windowEnd}`,
          sql`not exists ${already}`,
        ),
      )
      .orderBy(asc(accessRecords.expiresAt))
      .limit(literalLimit(BATCH));
    let queued = 0;
    for (const r of due) {
      const daysRemaining = Math.floor((new Date(r.expiresAt!).getTime() - nowDate.getTime()) / DAY_MS);
      const id = await this.events.publishTo({ wid: r.wid, duid: r.duid! }, 'consent.expiring', { ak: r.ak, mpxn: r.mpxn, duid: r.duid, expiry: r.expiry, 'days-remaining': daysRemaining }, r.ak);
      if (id) queued++;
    }
    // Every selected row either was queued or already had its notice: stop rather than spin.
    return queued === due.length ? due.length : 0;
  }
}
