import { and, count, desc, eq, gt, isNotNull, isNull, ne, sql } from 'drizzle-orm';
import { waitForJobLock, type Store } from '../db/store.js';
import { LimitedStatements, ONE_ROW, literalLimit } from '../lib/sql.js';
import { hmacHex } from '../lib/crypto.js';
import type { Clock } from '../lib/clock.js';
import { errorForLog } from '../http/log-redaction.js';
import { PeriodicWorker } from './worker.js';

export interface AuditInput {
  actor: string;
  eventType: string;
  ak?: string | null;
  ir?: string | null;
  subject?: string | null;
  detail?: Record<string, unknown>;
}

export const GENESIS = '0'.repeat(64);
/** The settings row holding the chain's anchor (see AuditLog). */
export const ANCHOR_KEY = 'audit-anchor';
/**
 * Written by the migration that introduced linking, on a register that already had a chain:
 * the first link run anchors that chain's tip (trust on first use; docs/security.md "The audit chain").
 */
export const UNANCHORED = 'unanchored';

type Content = { at: string; actor: string; eventType: string; ak: string | null; ir: string | null; subject: string | null; detail: Record<string, unknown> };

/** The chain's tip as the linker last left it, HMAC'd under the audit key. */
interface Anchor {
  /** Events up to this id were deleted by a sandbox reset: the chain starts after it. */
  base: number;
  /** The newest linked event's position in the chain (0: nothing linked since `base`). */
  link: number;
  /** Its id (`base` when nothing is linked). */
  seq: number;
  /** Its hash (GENESIS when nothing is linked). */
  hash: string;
}

export interface VerifyResult {
  intact: boolean;
  /** Events whose HMAC (and, when linked, chain link) was checked before the first fault. */
  checked: number;
  linked: number;
  /** Events written but not yet linked into the chain (normally for a second or two). */
  unlinked: number;
  'first-broken-id': number | null;
  reason: string | null;
}

/** Events per page when verify reads the chain. */
const VERIFY_PAGE = 5000;
/**
 * Events the background linker links in one unit of work; it lets requests in between units.
 * Linking runs on the event loop, about 5–8 µs an event (an UPDATE and an HMAC). 2,000 at a time
 * held every request for 10–30 ms once a second under a steady read load, the longest stalls in
 * a meter-point run; 250 (~2 ms each) spread the stalls into the listings' p99; 50 keep each
 * under half a millisecond (docs/performance.md "The audit linker's batches").
 */
export const LINKER_BATCH = 50;
/** How long verify waits for another node's linker run to finish (PostgreSQL; see verify). */
const LINKER_WAIT_MS = 5000;

/**
 * Append-only audit log, tamper-evident against someone who can write the database but does
 * not hold the key file (docs/security.md "The audit chain").
 *
 * - **At commit**, inside the audited transaction, each event gets its own HMAC over its id and
 *   content (`event_hash`). Nothing shared is read or written, so writers on any number of
 *   nodes never wait for one another (a single locked chain tip capped durable writes at about
 *   190/s on PostgreSQL).
 * - **After commit**, the linker (`linkPending`, run every second or so by one node at a time)
 *   links events into the chain in the order it finds them: position `link_seq`, `prev_hash`
 *   the previous link's hash, `hash` an HMAC over both and the event's own HMAC. So editing,
 *   deleting or reordering a linked event breaks the chain from there on.
 * - **The anchor** (settings row `audit-anchor`, HMAC'd) names the chain's tip and is written
 *   in the same transaction as the links it covers; the linker continues from the anchor, not
 *   from the newest row. Deleting the newest linked events therefore leaves the anchor naming
 *   an event that is gone. Replaying an older anchor together with such a deletion is caught
 *   by the database's own sequence: SQLite's AUTOINCREMENT counter only moves back with a
 *   rolled-back transaction, so the newest id it ever handed out must still be there and the
 *   ids after the tip must have no holes. What remains possible (rewinding that counter too)
 *   is written down in docs/security.md. PostgreSQL's sequences skip the values of rolled-back
 *   inserts, so there holes prove nothing and those two checks are not made (`gaplessIds`).
 *
 * Several nodes: writers share nothing; the linker must run on one node at a time, and takes
 * its job lock (`store.tryJobLock('audit-linker')`) inside its own transaction, where the tip
 * is then read and written.
 */
export class AuditLog {
  /** Checks (verify) in progress in this process; the linker waits them out. */
  private verifying = 0;
  /** The link run in progress in this process, which a check lets finish first. */
  private linking: Promise<number> | null = null;
  private readonly nextSeq;
  private readonly highSeq;
  private readonly insert;
  private readonly anchorRow;
  private readonly anchorWrite;
  private readonly unlinkedRows;
  private readonly linkRow;
  private readonly chainTip;
  private readonly firstNewStyleLinked;
  private readonly linkedPage;
  private readonly unlinkedPage;
  private readonly unlinkedTotal;
  private readonly gaplessIds: boolean;

  constructor(
    private readonly store: Store,
    private readonly key: Buffer,
    private readonly clock: Clock,
  ) {
    const p = (name: string) => sql.placeholder(name);
    const d = store.dialect;
    this.gaplessIds = d.gaplessIds;
    // A select of one expression needs a row to select from on both engines.
    const oneRow = sql`(select 1) as one`;
    this.anchorRow = store.prepare('audit.anchor-read', (db, { settings }) =>
      db
        .select({ value: settings.value })
        .from(settings)
        .where(eq(settings.key, p('key')))
        .limit(ONE_ROW),
    );
    this.anchorWrite = store.prepare('audit.anchor-write', (db, { settings }) =>
      db
        .insert(settings)
        .values({ key: p('key'), value: p('value'), updatedAt: p('updatedAt') })
        .onConflictDoUpdate({ target: settings.key, set: { value: sql`excluded.value`, updatedAt: sql`excluded.updated_at` } }),
    );
    // Asked with two limits (1 to see whether any waits, the linker's batch): each its own
    // statement, the limit written in (lib/sql.ts literalLimit: a bound LIMIT is prepared again on every run).
    const unlinked = new LimitedStatements(store, 'audit', 4);
    this.unlinkedRows = (max: number) =>
      unlinked.execute<{ seq: number; eventHash: string }[]>('unlinked', max, (db, { auditEvents: a }, limit) => db.select({ seq: a.seq, eventHash: a.eventHash }).from(a).where(isNull(a.linkSeq)).orderBy(a.seq).limit(limit), {});
    this.linkRow = store.prepare('audit.link', (db, { auditEvents: a }) =>
      db
        .update(a)
        .set({ linkSeq: p('linkSeq') as unknown as number, prevHash: p('prevHash') as unknown as string, hash: p('hash') as unknown as string })
        .where(and(eq(a.seq, p('seq')), isNull(a.linkSeq))),
    );
    this.chainTip = store.prepare('audit.chain-tip', (db, { auditEvents: a }) => db.select({ link: a.linkSeq, seq: a.seq, hash: a.hash, eventHash: a.eventHash }).from(a).where(isNotNull(a.linkSeq)).orderBy(desc(a.linkSeq)).limit(ONE_ROW));
    this.firstNewStyleLinked = store.prepare('audit.first-new-style-linked', (db, { auditEvents: a }) =>
      db
        .select({ seq: a.seq })
        .from(a)
        .where(and(isNotNull(a.linkSeq), ne(a.eventHash, '')))
        .orderBy(a.linkSeq)
        .limit(ONE_ROW),
    );
    // Keyset pages keep verify's memory flat.
    this.linkedPage = store.prepare('audit.linked-page', (db, { auditEvents: a }) =>
      db
        .select({ seq: a.seq, linkSeq: a.linkSeq, prevHash: a.prevHash, hash: a.hash, eventHash: a.eventHash, at: a.at, actor: a.actor, eventType: a.eventType, ak: a.ak, ir: a.ir, subject: a.subject, detail: a.detail })
        .from(a)
        .where(and(isNotNull(a.linkSeq), gt(a.linkSeq, p('after'))))
        .orderBy(a.linkSeq)
        .limit(literalLimit(VERIFY_PAGE)),
    );
    this.unlinkedPage = store.prepare('audit.unlinked-page', (db, { auditEvents: a }) =>
      db
        .select({ seq: a.seq, eventHash: a.eventHash, at: a.at, actor: a.actor, eventType: a.eventType, ak: a.ak, ir: a.ir, subject: a.subject, detail: a.detail })
        .from(a)
        .where(and(isNull(a.linkSeq), gt(a.seq, p('after'))))
        .orderBy(a.seq)
        .limit(literalLimit(VERIFY_PAGE)),
    );
    this.unlinkedTotal = store.prepare('audit.unlinked-count', (db, { auditEvents: a }) => db.select({ n: count() }).from(a).where(isNull(a.linkSeq)));
    // The id is read before the insert so the event's own HMAC can bind it (moving an event to
    // another id breaks it). SQLite: its counter plus one, which cannot move under us inside
    // the writing transaction. PostgreSQL: `nextval`, which takes no lock either (the id is
    // then this unit's; a rollback leaves a hole). Prepared once (docs/performance.md).
    this.nextSeq = store.prepareValue('audit.next-seq', (db) => db.select({ id: sql<number>`${d.nextId('audit_events', 'seq')}` }).from(oneRow));
    this.highSeq = store.prepare('audit.high-seq', (db) => db.select({ id: sql<number>`${d.highestId('audit_events', 'seq')}` }).from(oneRow));
    // Prepared once (docs/performance.md): every write appends an event. (drizzle applies the json
    // column's encoder to placeholder values too, so `detail` is passed as an object.)
    this.insert = store.prepare('audit.insert', (db, { auditEvents }) =>
      db.insert(auditEvents).values({ seq: p('seq'), at: p('at'), actor: p('actor'), eventType: p('eventType'), ak: p('ak'), ir: p('ir'), subject: p('subject'), detail: p('detail'), eventHash: p('eventHash'), prevHash: '', hash: '' }),
    );
  }

  /** The event's own HMAC, written at commit. */
  private eventDigest(seq: number, e: Content): string {
    return hmacHex(this.key, JSON.stringify(['audit-event', seq, e.at, e.actor, e.eventType, e.ak, e.ir, e.subject, e.detail]));
  }

  /** A chain link: the previous link's hash, this position, and the event's own HMAC. */
  private linkDigest(prevHash: string, linkSeq: number, seq: number, eventHash: string): string {
    return hmacHex(this.key, JSON.stringify(['audit-link', prevHash, linkSeq, seq, eventHash]));
  }

  /** Events written before linking existed (empty `event_hash`): the hash covers the previous hash and the content. */
  private legacyDigest(prevHash: string, e: Content): string {
    return hmacHex(this.key, JSON.stringify([prevHash, e.at, e.actor, e.eventType, e.ak, e.ir, e.subject, e.detail]));
  }

  private anchorMac(a: Anchor): string {
    return hmacHex(this.key, JSON.stringify(['audit-anchor', a.base, a.link, a.seq, a.hash]));
  }

  /** Call inside the transaction that makes the change being audited. */
  async append(input: AuditInput): Promise<void> {
    const seq = await this.nextSeq.execute();
    // The statement reads from a one-row table, so it always has a row; say so if that breaks.
    if (seq === undefined) throw new Error('audit.next-seq returned no row');
    const row = {
      at: this.clock.iso(),
      actor: input.actor,
      eventType: input.eventType,
      ak: input.ak ?? null,
      ir: input.ir ?? null,
      subject: input.subject ?? null,
      detail: input.detail ?? {},
    };
    await this.insert.execute({ ...row, seq, eventHash: this.eventDigest(seq, row) });
  }

  /** The highest event id the database ever handed out (0 for none). */
  private async sequenceHigh(): Promise<number> {
    const [{ id }] = await this.highSeq.execute();
    return id;
  }

  /** The stored anchor: an Anchor, 'unanchored' (legacy chain not yet anchored), null (none) or 'forged'. */
  private async readAnchor(): Promise<Anchor | typeof UNANCHORED | 'forged' | null> {
    const [row] = await this.anchorRow.execute({ key: ANCHOR_KEY });
    if (row === undefined) return null;
    const value = row.value;
    if (value === UNANCHORED) return UNANCHORED;
    try {
      const a = JSON.parse(value) as Anchor & { mac: string };
      const anchor: Anchor = { base: a.base, link: a.link, seq: a.seq, hash: a.hash };
      if (typeof a.mac === 'string' && a.mac === this.anchorMac(anchor)) return anchor;
    } catch {
      // fall through: unreadable is as bad as forged
    }
    return 'forged';
  }

  private async writeAnchor(a: Anchor): Promise<void> {
    const value = JSON.stringify({ ...a, mac: this.anchorMac(a) });
    await this.anchorWrite.execute({ key: ANCHOR_KEY, value, updatedAt: new Date().toISOString() });
  }

  /**
   * A sandbox reset deleted every event: the chain starts again after the newest id handed out.
   * Call inside the transaction that deleted them.
   */
  async startFreshChain(): Promise<void> {
    const high = await this.sequenceHigh();
    await this.writeAnchor({ base: high, link: 0, seq: high, hash: GENESIS });
  }

  /** Whether any event waits to be linked: a read outside any transaction, so an idle linker takes no write lock. */
  async hasPending(): Promise<boolean> {
    return (await this.unlinkedRows(1)).length > 0;
  }

  /**
   * Links up to `max` unlinked events into the chain, oldest id first, and moves the anchor.
   * Call inside a transaction (reg.tx). Returns how many were linked; 0 when another node holds
   * the lock or the anchor is missing or forged (verify reports that; linking on would hide it).
   */
  async linkPending(max = 2000): Promise<number> {
    // A check in progress in this process reads the chain in several statements: linking
    // meanwhile would make an intact chain read as broken. The linker tries again next pass.
    if (this.verifying > 0) return 0;
    const run = this.linkOnce(max);
    this.linking = run;
    try {
      return await run;
    } finally {
      if (this.linking === run) this.linking = null;
    }
  }

  private async linkOnce(max: number): Promise<number> {
    // The job lock, first: on SQLite the transaction is already the only writer on the file
    // (BEGIN IMMEDIATE), whichever process or node runs it; on PostgreSQL false means another
    // node is linking.
    if (!(await this.store.tryJobLock('audit-linker'))) return 0;
    let anchor = await this.readAnchor();
    if (anchor === 'forged') throw new Error('the audit chain anchor fails its HMAC; not linking (GET /v1/admin/audit/verify)');
    const [linkedTip] = await this.chainTip.execute();
    const tip = linkedTip ? { ...linkedTip, link: linkedTip.link! } : undefined;
    if (anchor === UNANCHORED) {
      // A chain written before linking existed: anchor its tip once. Its newest link must be a
      // legacy event; a linked new-style event means the marker was planted later.
      if (tip && tip.eventHash !== '') throw new Error('the audit chain is marked unanchored but holds linked events; not linking (GET /v1/admin/audit/verify)');
      anchor = tip ? { base: 0, link: tip.link, seq: tip.seq, hash: tip.hash } : { base: 0, link: 0, seq: 0, hash: GENESIS };
      await this.writeAnchor(anchor);
    }
    // Where the next event's id is known, the linker links only that id: linking over a hole
    // (an unlinked event deleted before it was linked) would make the chain whole again and hide
    // the deletion for good. Only a database with no chain and no anchor yet starts anywhere.
    // (PostgreSQL sequences skip values on rollback: there this check does not apply, as in
    // verify, and events are linked in the order of their ids as found.)
    let contiguous = this.gaplessIds;
    if (anchor === null) {
      if (tip) throw new Error('the audit chain anchor is missing; not linking (GET /v1/admin/audit/verify)');
      anchor = { base: 0, link: 0, seq: 0, hash: GENESIS };
      contiguous = false;
    }
    const rows = await this.unlinkedRows(max);
    if (rows.length === 0) return 0;
    let { link, hash } = anchor;
    let seq = anchor.seq;
    for (const r of rows) {
      if (contiguous && r.seq !== seq + 1) {
        if (link === anchor.link) throw new Error(`audit events ${seq + 1}${r.seq - 1 > seq + 1 ? `–${r.seq - 1}` : ''} are missing; not linking over them (GET /v1/admin/audit/verify)`);
        break; // link up to the hole, anchor that, and stop there on the next run
      }
      contiguous = this.gaplessIds;
      const next = this.linkDigest(hash, link + 1, r.seq, r.eventHash);
      await this.linkRow.execute({ linkSeq: link + 1, prevHash: hash, hash: next, seq: r.seq });
      link++;
      hash = next;
      seq = r.seq;
    }
    await this.writeAnchor({ base: anchor.base, link, seq, hash });
    return rows.length;
  }

  /**
   * Checks every event's own HMAC, the chain over linked events and its anchor, and (SQLite) that
   * no id the database handed out is missing after the chain's tip. Reports the first fault.
   *
   * The check reads the anchor, then the chain, then the events not linked yet, in several
   * statements: a linker run committing in between moves the anchor past the chain already
   * read, and an intact chain was reported broken ("the chain anchor is older than the chain").
   * So this process's linker skips its runs while a check is in progress (one already running
   * is let finish first), and on PostgreSQL, where every node links, the check also runs in a
   * transaction holding the linker's job lock (waited for up to LINKER_WAIT_MS; after that it
   * runs unlocked). On SQLite the check stays outside a transaction: there a transaction is the
   * one writer's and would hold up every write.
   */
  async verify(): Promise<VerifyResult> {
    // This process's linker stays out until the check ends (linkPending), once a run already
    // started has finished; other nodes' linkers (PostgreSQL) by the job lock below.
    this.verifying++;
    try {
      await this.linking?.catch(() => undefined);
      if (this.store.engine !== 'postgres') return await this.check();
      return await this.store.tx(async () => {
        await waitForJobLock(this.store, 'audit-linker', LINKER_WAIT_MS);
        return this.check();
      });
    } finally {
      this.verifying--;
    }
  }

  private async check(): Promise<VerifyResult> {
    let checked = 0;
    let linked = 0;
    const fail = async (id: number | null, reason: string): Promise<VerifyResult> => ({ intact: false, checked, linked, unlinked: await this.unlinkedCount(), 'first-broken-id': id, reason });
    const stored = await this.readAnchor();
    if (stored === 'forged') return fail(null, 'the chain anchor does not carry the register’s HMAC (it was edited or replaced)');
    const anchor: Anchor | null = stored === UNANCHORED ? null : (stored ?? { base: 0, link: 0, seq: 0, hash: GENESIS });
    // The marker is only ever written over a chain of events from before linking; over linked
    // new-style events it was planted, and it stops the linker (linkPending refuses).
    if (stored === UNANCHORED) {
      const [newStyle] = await this.firstNewStyleLinked.execute();
      if (newStyle !== undefined) return fail(newStyle.seq, 'the chain is marked unanchored (as before an upgrade) but holds events linked since; linking has stopped');
    }

    // 1. The chain over linked events, in link order (keyset pages keep memory flat).
    let prev = GENESIS;
    let tip = { link: 0, seq: anchor?.base ?? 0 };
    for (let after = 0; ;) {
      const rows = await this.linkedPage.execute({ after });
      if (rows.length === 0) break;
      for (const row of rows) {
        const r = { ...row, linkSeq: row.linkSeq! };
        if (r.linkSeq !== tip.link + 1) return fail(r.seq, 'linked events before this one are missing');
        if (tip.link === 0 && anchor && r.seq <= anchor.base) return fail(r.seq, 'this event predates the chain’s start (a sandbox reset)');
        if (r.prevHash !== prev) return fail(r.seq, 'prev-hash does not match the previous event');
        // Linked since linking existed: ids follow one another (SQLite's counter has no gaps), so
        // a hole between two links is a deletion, even if a linker linked over it.
        if (this.gaplessIds && r.eventHash !== '' && tip.link > 0 && r.seq !== tip.seq + 1) return fail(r.seq, `events ${tip.seq + 1}${r.seq - 1 > tip.seq + 1 ? `–${r.seq - 1}` : ''} are missing`);
        if (r.eventHash === '') {
          if (this.legacyDigest(prev, r) !== r.hash) return fail(r.seq, 'event content does not match its hash');
        } else {
          if (this.eventDigest(r.seq, r) !== r.eventHash) return fail(r.seq, 'event content does not match its hash');
          if (this.linkDigest(prev, r.linkSeq, r.seq, r.eventHash) !== r.hash) return fail(r.seq, 'event content does not match its hash');
        }
        prev = r.hash;
        tip = { link: r.linkSeq, seq: r.seq };
        after = r.linkSeq;
        checked++;
        linked++;
      }
    }

    // 2. The anchor names the tip: newer linked events cannot have been deleted, nor the anchor rolled back.
    if (anchor) {
      if (anchor.link > tip.link) return fail(anchor.seq, `the newest linked events are missing: the chain ends at position ${tip.link}, its anchor names position ${anchor.link} (event ${anchor.seq})`);
      if (anchor.link < tip.link) return fail(tip.seq, 'the chain anchor is older than the chain (it was replaced by an earlier one)');
      if (anchor.link > 0 && (anchor.seq !== tip.seq || anchor.hash !== prev)) return fail(tip.seq, 'the chain’s newest event is not the one its anchor names');
    }

    // 3. Events not linked yet: their own HMAC, and (SQLite) no hole in the ids after the tip.
    // SQLite's counter is gapless (a rolled-back insert gives its id back), so a missing id was
    // deleted. (PostgreSQL sequences skip values on rollback: there this check cannot apply.)
    // The highest id handed out, read before the pages: events written while they are read
    // can only add to what the pages find.
    const high = this.gaplessIds ? await this.sequenceHigh() : 0;
    let expected = tip.seq + 1;
    for (let after = 0; ;) {
      const rows = await this.unlinkedPage.execute({ after });
      if (rows.length === 0) break;
      for (const r of rows) {
        if (this.gaplessIds && r.seq !== expected) return fail(r.seq, `events ${expected}${r.seq - 1 > expected ? `–${r.seq - 1}` : ''} are missing`);
        if (r.eventHash === '' || this.eventDigest(r.seq, r) !== r.eventHash) return fail(r.seq, 'event content does not match its hash');
        expected = r.seq + 1;
        after = r.seq;
        checked++;
      }
    }
    if (this.gaplessIds) {
      if (high > expected - 1) return fail(high, `the newest events are missing: the database handed out ids up to ${high}, the newest present is ${expected - 1}`);
    }
    return { intact: true, checked, linked, unlinked: checked - linked, 'first-broken-id': null, reason: null };
  }

  private async unlinkedCount(): Promise<number> {
    const [{ n }] = await this.unlinkedTotal.execute();
    return n;
  }
}

/**
 * Runs the linker every `intervalMs` (and at once on start, so events left unlinked by a stop
 * or crash are linked on restart). `tx` is the register's transaction runner.
 */
export class AuditLinker extends PeriodicWorker<number> {
  readonly name = 'audit-linker';
  private reported = false;

  constructor(
    private readonly audit: AuditLog,
    private readonly tx: <T>(fn: () => Promise<T> | T) => Promise<T>,
    intervalMs: number,
  ) {
    super(intervalMs);
  }

  /** Links everything pending now, a batch per turn of the event loop; resolves to how many were linked. */
  runOnce(): Promise<number> {
    return this.runPass();
  }

  protected pass(): Promise<number> {
    return this.linkAll();
  }

  private async linkAll(): Promise<number> {
    let total = 0;
    try {
      while (await this.audit.hasPending()) {
        const n = await this.tx(() => this.audit.linkPending(LINKER_BATCH));
        total += n;
        if (n === 0 || this.stopped) break;
        // A backlog (a busy second, or a restart) is linked without keeping requests waiting.
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.reported = false;
    } catch (err) {
      // Said once per fault, not every second.
      if (!this.reported) console.error('audit chain linking stopped', errorForLog(err));
      this.reported = true;
    }
    return total;
  }
}
