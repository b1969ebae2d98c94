import { and, desc, eq, inArray, lte, type SQL } from 'drizzle-orm';
import type Mail from 'nodemailer/lib/mailer';
import { newestFirstPage } from '../../lib/paging.js';
import type { Transporter } from 'nodemailer';
import type { Register } from '../../context.js';
import type * as schema from '../../db/schema.js';
import { affectedRows } from '../../db/store.js';
import { ONE_ROW, rowByKey } from '../../lib/sql.js';
import { apiTime } from '../../lib/clock.js';
import { decrypt, encrypt } from '../../lib/crypto.js';
import { conflict, notFound } from '../../lib/errors.js';
import { newId, newSecret } from '../../lib/ids.js';
import type { AuditInput } from '../audit.js';
import type { Worker } from '../worker.js';
import { errorForLog, scrubText } from '../../http/log-redaction.js';
import type { MailStatus } from '../../../shared/vocabulary.js';

export type MailRow = typeof schema.mailMessages.$inferSelect;

/**
 * Status of an outbox row:
 * - captured: kept in the outbox only (no SMTP configured); final.
 * - queued:   waiting for its first SMTP attempt.
 * - retrying: an attempt failed with a transient error; next-attempt-at says when the next one runs.
 * - sent:     the SMTP server accepted it.
 * - failed:   a permanent SMTP error, or every retry was used up. An operator may retry it.
 */

export interface QueueMail {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** What the message is for, e.g. `magic-link`, `webhook-undelivered`. */
  purpose: string;
  /** The thing it is about (token-ref, event id, …); indexed for look-ups. */
  ref?: string | null;
}

export interface MailerOptions {
  /** Delay before attempt n+1 after n failed attempts; its length + 1 is the number of attempts. */
  backoffMs?: number[];
  /** How often the worker looks for due rows when nothing woke it. */
  pollMs?: number;
  /** How long a row is leased to one attempt (a crash mid-send makes it due again after this). */
  leaseMs?: number;
}

/** The store channel a queued or retried message is announced on: the worker wakes once it has committed. */
const MAIL_CHANNEL = 'mail-queued';

const DEFAULT_BACKOFF_MS = [30_000, 60_000, 2 * 60_000, 5 * 60_000, 15 * 60_000, 60 * 60_000, 4 * 60 * 60_000];
const URL_RE = /\bhttps?:\/\/[^\s<>"')]+/g;

/** Every URL a message contains, in order, without duplicates. */
export function linksIn(...bodies: string[]): string[] {
  const out = new Set<string>();
  for (const body of bodies) for (const m of body.matchAll(URL_RE)) out.add(m[0].replace(/&amp;/g, '&').replace(/[.,;:]+$/, ''));
  return [...out];
}

/**
 * A one-time link's secret in a message: the magic link `/id/magic/<secret>`. Its token is
 * stored only as a hash; the outbox must not hold the secret in a usable form either.
 */
const ONE_TIME_LINK = /(\/id\/magic\/)(?!\[)[A-Za-z0-9_-]+/g;
const REDACTED_LINK = '$1[redacted]';

/** The text with every one-time link's secret replaced by `[redacted]`. */
export function redactOneTimeLinks(s: string): string {
  return s.replace(ONE_TIME_LINK, REDACTED_LINK);
}

function hasOneTimeLink(s: string): boolean {
  ONE_TIME_LINK.lastIndex = 0;
  const found = ONE_TIME_LINK.test(s);
  ONE_TIME_LINK.lastIndex = 0;
  return found;
}

interface SealedBody {
  text: string;
  html: string;
}

function stripHeaderBreaks(s: string): string {
  return s.replace(/[\r\n]+/g, ' ').trim();
}

/**
 * The register's e-mail: every message is written to the `mail_messages` outbox first
 * (inside the caller's transaction, so it commits with the change that caused it), and
 * with `--smtp` a worker then delivers it through nodemailer, retrying transient failures
 * with backoff. Nothing is dropped: every outcome stays visible at GET /v1/admin/outbox.
 *
 * Recipient addresses are stored encrypted (AES-256-GCM, key outside the database), like
 * the identity records' e-mail copies.
 *
 * One-time links (magic links): in sandbox mode the outbox is the developer's mail catcher and
 * keeps them usable. In production the stored text, html and links carry the link with its
 * secret redacted; a message that SMTP will deliver keeps its deliverable bodies encrypted in
 * `sealed` until it is sent or has failed for good, and then only the redacted form remains.
 * Without SMTP a production message is never delivered, so its secret is not kept at all.
 */
export class Mailer {
  readonly worker: Worker;
  private readonly backoffMs: number[];
  private readonly pollMs: number;
  private readonly leaseMs: number;
  private transport: Transporter | null = null;
  private timer: NodeJS.Timeout | null = null;
  private unlisten: (() => void) | null = null;
  private running: Promise<number> | null = null;
  private started = false;
  /** Bumped when the register's state is replaced (sandbox snapshot restore or reset); see discardInFlight. */
  private generation = 0;
  private readonly byId;

  constructor(
    private readonly reg: Register,
    opts: MailerOptions = {},
  ) {
    this.backoffMs = opts.backoffMs ?? DEFAULT_BACKOFF_MS;
    this.pollMs = opts.pollMs ?? 2000;
    this.leaseMs = opts.leaseMs ?? 2 * 60_000;
    const { mailMessages } = reg.store.tables;
    this.byId = rowByKey(reg.store, 'mail.by-id', mailMessages, mailMessages.messageId, 'id');
    this.worker = {
      name: 'mail',
      start: () => this.start(),
      stop: () => this.stop(),
    };
  }

  /** True when messages are also delivered over SMTP. */
  get delivering(): boolean {
    return this.reg.config.smtpUrl !== null;
  }

  get maxAttempts(): number {
    return this.backoffMs.length + 1;
  }

  /**
   * Writes a message to the outbox and resolves to its id (msg_…). Call it (awaited) inside the
   * transaction that makes the change the message is about: the row then commits (or
   * rolls back) with that change, and the worker only ever sees committed rows.
   */
  async queue(input: QueueMail): Promise<string> {
    const id = newId('msg');
    const now = this.reg.clock.iso();
    const links = linksIn(input.text, input.html);
    const seal = this.reg.config.mode === 'production' && links.some(hasOneTimeLink);
    await this.reg.db.insert(this.reg.store.tables.mailMessages).values({
      messageId: id,
      to: encrypt(this.reg.keys.encryptionKey, input.to.trim()),
      subject: stripHeaderBreaks(input.subject),
      text: seal ? redactOneTimeLinks(input.text) : input.text,
      html: seal ? redactOneTimeLinks(input.html) : input.html,
      links: seal ? links.map(redactOneTimeLinks) : links,
      sealed: seal && this.delivering ? encrypt(this.reg.keys.encryptionKey, JSON.stringify({ text: input.text, html: input.html } satisfies SealedBody)) : null,
      purpose: input.purpose,
      ref: input.ref ?? null,
      status: this.delivering ? 'queued' : 'captured',
      nextAttemptAt: this.delivering ? now : null,
      createdAt: now,
    });
    // The worker is woken once the caller's transaction has committed.
    if (this.delivering) await this.reg.store.notify(MAIL_CHANNEL);
    return id;
  }

  async find(id: string): Promise<MailRow | undefined> {
    return this.byId.find({ id });
  }

  recipient(row: Pick<MailRow, 'to'>): string {
    return decrypt(this.reg.keys.encryptionKey, row.to);
  }

  /** Messages about `ref` (e.g. a token-ref), newest first. */
  async forRef(refs: string[]): Promise<MailRow[]> {
    if (refs.length === 0) return [];
    const { mailMessages } = this.reg.store.tables;
    return this.reg.db.select().from(mailMessages).where(inArray(mailMessages.ref, refs)).orderBy(desc(mailMessages.seq));
  }

  /** The bodies SMTP delivers: the sealed ones when the stored text is redacted. */
  private deliverable(row: MailRow): SealedBody {
    return row.sealed ? (JSON.parse(decrypt(this.reg.keys.encryptionKey, row.sealed)) as SealedBody) : { text: row.text, html: row.html };
  }

  /**
   * The message as nodemailer is given it: the SMTP worker sends exactly this, and the
   * outbox's raw source is composed from it (with the stored, possibly redacted bodies).
   */
  private mailOptions(row: MailRow, body: SealedBody): Mail.Options {
    return {
      from: this.reg.config.mailFrom,
      to: this.recipient(row),
      subject: row.subject,
      text: body.text,
      html: body.html,
      headers: { 'X-DAR-Message-Id': row.messageId, 'X-DAR-Purpose': row.purpose },
    };
  }

  /**
   * The raw RFC 822 source of a message and its header lines, composed by nodemailer's own
   * MailComposer from what the outbox shows (never the sealed bodies: a production row's
   * one-time link stays redacted). Message-ID and Date are the outbox's, so the source is stable.
   */
  async source(row: MailRow): Promise<{ from: string; headers: { name: string; value: string }[]; source: string }> {
    const { default: MailComposer } = await import('nodemailer/lib/mail-composer');
    const v = this.view(row);
    const domain = (/@([^>\s]+)>?\s*$/.exec(this.reg.config.mailFrom)?.[1] ?? 'dar.localhost').toLowerCase();
    const raw = await new MailComposer({ ...this.mailOptions(row, { text: v.text, html: v.html }), messageId: `<${row.messageId}@${domain}>`, date: new Date(row.createdAt) }).compile().build();
    const source = raw.toString('utf8');
    const head = source.slice(0, source.indexOf('\r\n\r\n'));
    const headers = head
      .replace(/\r\n[ \t]+/g, ' ')
      .split('\r\n')
      .map((line) => {
        const i = line.indexOf(':');
        return { name: line.slice(0, i), value: line.slice(i + 1).trim() };
      });
    return { from: this.reg.config.mailFrom, headers, source };
  }

  /**
   * Sandbox: messages whose recipient, subject or body (text or HTML) contains `q`, case-insensitively.
   * Recipients are stored encrypted, so the match runs here over the decrypted rows, newest first.
   */
  async search(q: { text: string; status?: string; ref?: string; purpose?: string; limit: number; cursor?: number }): Promise<{ rows: MailRow[]; total: number; nextCursor: string | null }> {
    const needle = q.text.toLowerCase();
    const { mailMessages } = this.reg.store.tables;
    const filters: SQL[] = [];
    if (q.status) filters.push(eq(mailMessages.status, q.status));
    if (q.ref) filters.push(eq(mailMessages.ref, q.ref));
    if (q.purpose) filters.push(eq(mailMessages.purpose, q.purpose));
    const all = (
      await this.reg.db
        .select()
        .from(mailMessages)
        .where(filters.length ? and(...filters) : undefined)
        .orderBy(desc(mailMessages.seq))
    ).filter((r) => [this.recipient(r), r.subject, r.text, r.html].some((f) => f.toLowerCase().includes(needle)));
    const from = q.cursor !== undefined ? all.findIndex((r) => r.seq < q.cursor!) : 0;
    const page = from < 0 ? [] : all.slice(from, from + q.limit);
    const more = from >= 0 && from + q.limit < all.length;
    return { rows: page, total: all.length, nextCursor: more ? String(page[page.length - 1].seq) : null };
  }

  /** Sandbox: deletes one message (audited as the operator). */
  async remove(actor: string, id: string): Promise<void> {
    await this.reg.tx(async () => {
      const row = await this.find(id);
      if (!row) throw notFound(`Message ${id}`);
      const { mailMessages } = this.reg.store.tables;
      await this.reg.db.delete(mailMessages).where(eq(mailMessages.seq, row.seq));
      await this.reg.audit.append({ actor, eventType: 'mail.deleted', subject: id, detail: { purpose: row.purpose, ref: row.ref } });
    });
  }

  /** Sandbox: empties the outbox (audited as the operator, with how many went). */
  async removeAll(actor: string): Promise<number> {
    return this.reg.tx(async () => {
      const n = affectedRows(await this.reg.db.delete(this.reg.store.tables.mailMessages));
      await this.reg.audit.append({ actor, eventType: 'mail.deleted-all', detail: { deleted: n } });
      return n;
    });
  }

  /** The outbox as GET /v1/admin/outbox shows it. */
  view(row: MailRow) {
    // Stored rows are already redacted in production; this also covers any older row.
    const redact = this.reg.config.mode === 'production';
    const scrub = (s: string) => (redact ? redactOneTimeLinks(s) : s);
    return {
      id: row.messageId,
      from: this.reg.config.mailFrom,
      to: this.recipient(row),
      subject: row.subject,
      text: scrub(row.text),
      html: scrub(row.html),
      links: row.links.map(scrub),
      purpose: row.purpose,
      ref: row.ref,
      'created-at': apiTime(row.createdAt)!,
      status: row.status as MailStatus,
      attempts: row.attempts,
      'next-attempt-at': row.status === 'queued' || row.status === 'retrying' ? apiTime(row.nextAttemptAt) : null,
      'last-error': row.lastError,
      'sent-at': apiTime(row.sentAt),
    };
  }

  async list(q: { status?: string; ref?: string; purpose?: string; limit: number; cursor?: number }): Promise<{ rows: MailRow[]; total: number; nextCursor: string | null }> {
    const { mailMessages } = this.reg.store.tables;
    const filters: SQL[] = [];
    if (q.status) filters.push(eq(mailMessages.status, q.status));
    if (q.ref) filters.push(eq(mailMessages.ref, q.ref));
    if (q.purpose) filters.push(eq(mailMessages.purpose, q.purpose));
    return newestFirstPage(this.reg.db, mailMessages, filters, q);
  }

  /** Operator action: a failed (or retrying) message is tried again now, with a fresh set of attempts. */
  async retryNow(actor: string, id: string): Promise<MailRow> {
    return this.reg.tx(async () => {
      const row = await this.find(id);
      if (!row) throw notFound(`Message ${id}`);
      if (!this.delivering) throw conflict('This register has no SMTP server configured (--smtp); messages are only captured');
      if (row.status !== 'failed' && row.status !== 'retrying') throw conflict(`Message ${id} is ${row.status}; only failed or retrying messages can be retried`);
      if (!row.sealed && this.reg.config.mode === 'production' && row.links.some((l) => l.includes('/id/magic/[')))
        throw conflict(`Message ${id} carried a one-time link that the register no longer keeps; start a new re-identification instead`);
      const { mailMessages } = this.reg.store.tables;
      // Conditional on the status just checked: when another node's retry or a send was recorded
      // meanwhile, this one is a 409 rather than a second reset.
      const reset = await this.reg.db
        .update(mailMessages)
        .set({ status: 'queued', attempts: 0, nextAttemptAt: this.reg.clock.iso(), leaseToken: null })
        .where(and(eq(mailMessages.seq, row.seq), inArray(mailMessages.status, ['failed', 'retrying'])));
      if (affectedRows(reset) !== 1) throw conflict(`Message ${id} changed meanwhile; reload it`);
      await this.reg.audit.append({ actor, eventType: 'mail.retry-requested', subject: id });
      await this.reg.store.notify(MAIL_CHANNEL);
      return (await this.find(id))!;
    });
  }

  /** nodemailer loads with the first delivery: a register without --smtp never needs it (start-up, docs/performance.md). */
  private async smtp(): Promise<Transporter> {
    if (!this.transport) {
      const { default: nodemailer } = await import('nodemailer');
      this.transport ??= nodemailer.createTransport({
        url: this.reg.config.smtpUrl!,
        connectionTimeout: 10_000,
        greetingTimeout: 10_000,
        socketTimeout: 30_000,
      } as Parameters<typeof nodemailer.createTransport>[0]);
    }
    return this.transport;
  }

  /**
   * Leases one due row (conditional update), so a row is attempted by one pass at a time, on
   * this node or any other sharing the database. On PostgreSQL the due row is also locked as it
   * is read, passing over a row another node is leasing at that moment (`for update skip
   * locked`), so nodes leasing at the same time take different rows. The lease sets a fresh
   * random `lease_token`; the outcome is recorded only `where seq = ? and lease_token = ?` (see
   * `recordOutcome`), so a pass whose lease ran out and whose row was leased again cannot
   * overwrite the newer outcome.
   * One unit of work, so the lease never joins another unit's writes.
   */
  private async lease(): Promise<MailRow | null> {
    const { mailMessages } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const now = this.reg.clock.iso();
      for (;;) {
        const [due] = await this.reg.store.dialect.lockRows(
          this.reg.db
            .select()
            .from(mailMessages)
            .where(and(inArray(mailMessages.status, ['queued', 'retrying']), lte(mailMessages.nextAttemptAt, now)))
            .orderBy(mailMessages.nextAttemptAt)
            .limit(ONE_ROW),
          { skipLocked: true },
        );
        if (!due) return null;
        const leaseToken = newSecret(18);
        const leased = await this.reg.db
          .update(mailMessages)
          .set({ nextAttemptAt: this.reg.clock.isoIn(this.leaseMs), leaseToken })
          .where(and(eq(mailMessages.seq, due.seq), eq(mailMessages.nextAttemptAt, due.nextAttemptAt!), inArray(mailMessages.status, ['queued', 'retrying'])));
        if (affectedRows(leased) === 1) return { ...due, leaseToken };
      }
    });
  }

  /**
   * The database now holds another state (sandbox snapshot restore or reset): a message
   * leased before then is not sent, and the outcome of one already on the wire is not recorded.
   */
  discardInFlight(): void {
    this.generation++;
    if (this.started) setImmediate(() => this.wake());
  }

  private async attempt(row: MailRow, generation: number): Promise<void> {
    const attempts = row.attempts + 1;
    try {
      // Group commit: a message (a magic link, say) leaves only once what it refers to is on disk.
      await this.reg.durability.durable();
      if (generation !== this.generation) return;
      const body = this.deliverable(row);
      await (await this.smtp()).sendMail(this.mailOptions(row, body));
      if (generation !== this.generation) return;
      const now = this.reg.clock.iso();
      await this.recordOutcome(row, { status: 'sent', attempts, sentAt: now, nextAttemptAt: null, lastError: null, ...this.forget(row) });
    } catch (err) {
      if (generation !== this.generation) return;
      const e = err as Error & { responseCode?: number; permanent?: boolean; code?: string };
      const permanent = typeof e.responseCode === 'number' && e.responseCode >= 500 && e.responseCode < 600;
      const exhausted = attempts >= this.maxAttempts;
      const status: MailStatus = permanent || exhausted ? 'failed' : 'retrying';
      // SMTP errors often quote the recipient ("550 <someone@example.org>: rejected"), which is
      // stored only encrypted: the stored error (and the audit event) must not repeat it.
      const message = scrubText(`${e.code ? `${e.code}: ` : ''}${(e.message ?? String(err)).slice(0, 500)}`);
      const outcome = {
        status,
        attempts,
        lastError: message,
        nextAttemptAt: status === 'retrying' ? this.reg.clock.isoIn(this.backoffMs[attempts - 1]) : null,
        ...(status === 'failed' ? this.forget(row) : {}),
      };
      const audit = status === 'failed' ? { actor: 'register', eventType: 'mail.failed', subject: row.messageId, detail: { purpose: row.purpose, ref: row.ref, attempts, error: message, permanent } } : null;
      await this.recordOutcome(row, outcome, audit);
    }
  }

  /**
   * Records an attempt's outcome (and its audit event) only while `leased`'s lease is still the
   * row's: one row changed, or nothing is written (the lease ran out and the row was leased
   * again, here or on another node; that lease's outcome stands).
   */
  private async recordOutcome(leased: MailRow, outcome: Partial<MailRow>, audit: AuditInput | null = null): Promise<boolean> {
    const { mailMessages } = this.reg.store.tables;
    return this.reg.tx(async () => {
      const changed = affectedRows(
        await this.reg.db
          .update(mailMessages)
          .set({ ...outcome, leaseToken: null })
          .where(and(eq(mailMessages.seq, leased.seq), eq(mailMessages.leaseToken, leased.leaseToken ?? ''))),
      );
      if (changed !== 1) return false;
      if (audit) await this.reg.audit.append(audit);
      return true;
    });
  }

  /**
   * Production: once a message is final (sent, or failed for good), its one-time link's secret
   * is not kept in any form: the sealed bodies go, and the stored text is redacted (already so
   * for messages queued by this version; a row queued before it still held the plain link).
   */
  private forget(row: MailRow): Pick<MailRow, 'sealed' | 'text' | 'html' | 'links'> | Record<string, never> {
    if (this.reg.config.mode !== 'production') return {};
    return { sealed: null, text: redactOneTimeLinks(row.text), html: redactOneTimeLinks(row.html), links: row.links.map(redactOneTimeLinks) };
  }

  /**
   * One pass: attempts every due message once, one at a time. Returns how many were
   * attempted. Tests call it directly; the worker calls it on a timer and when woken.
   */
  processDue(): Promise<number> {
    if (!this.delivering) return Promise.resolve(0);
    if (this.running) return this.running;
    const pass = async () => {
      let n = 0;
      const generation = this.generation;
      for (let row = await this.lease(); row && generation === this.generation; row = await this.lease()) {
        await this.attempt(row, generation);
        n++;
      }
      return n;
    };
    // Cleared in a later microtask, so never before `running` is assigned.
    const running: Promise<number> = pass().finally(() => {
      if (this.running === running) this.running = null;
    });
    this.running = running;
    return running;
  }

  private wake(): void {
    if (!this.started) return;
    void this.processDue().catch((err) => console.error('mail worker pass failed', errorForLog(err)));
  }

  private schedule(): void {
    if (!this.started) return;
    this.timer = setTimeout(async () => {
      try {
        await this.processDue();
      } catch (err) {
        console.error('mail worker pass failed', errorForLog(err));
      }
      this.schedule();
    }, this.pollMs);
    this.timer.unref();
  }

  private start(): void {
    if (this.started || !this.delivering) return;
    this.started = true;
    this.unlisten = this.reg.store.listen(MAIL_CHANNEL, () => this.wake());
    this.wake();
    this.schedule();
  }

  private async stop(): Promise<void> {
    this.started = false;
    this.unlisten?.();
    this.unlisten = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.running) await this.running.catch(() => undefined);
    this.transport?.close();
    this.transport = null;
  }
}
