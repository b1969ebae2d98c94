import { close, fdatasync, fsync, open } from 'node:fs';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';

/** Flushes one file's data to stable storage, off the event loop (libuv's thread pool). */
export type SyncFile = (path: string, directory?: boolean) => Promise<void>;

export const syncFile: SyncFile = (path, directory = false) =>
  new Promise((resolve, reject) => {
    // A directory can only be opened read-only; fsync on it makes a newly created entry durable.
    open(path, directory ? 'r' : 'r+', (err, fd) => {
      if (err) return reject(err);
      (directory ? fsync : fdatasync)(fd, (syncErr) => close(fd, () => (syncErr ? reject(syncErr) : resolve())));
    });
  });

type Waiter = { target: number; resolve: () => void; reject: (err: Error) => void };

/**
 * Group commit (docs/performance.md): many requests' writes, one COMMIT, one fsync.
 *
 * With `synchronous = FULL` and a transaction per request, every write paid its own COMMIT
 * (~22 WAL pages written, locks taken) and its own fsync, on the event loop, so durable
 * writes topped out at a few hundred per second and every other request queued behind them.
 * Instead:
 *
 * 1. **Batched transactions.** `tx(fn)` runs `fn` in a savepoint of a batch transaction that
 *    stays open until the end of the current turn of the event loop (or until a response needs
 *    it), and while an fsync is running, until that fsync ends. All the requests handled
 *    meanwhile commit together, so pages they share (the table's tail, the audit chain, the
 *    counters, most index tails) are written once. A request whose `fn` throws rolls back to
 *    its own savepoint only.
 * 2. **One fsync for many commits.** The connection runs with `synchronous = NORMAL` (a COMMIT
 *    only write()s its WAL frames), and `durable()` fdatasyncs the WAL file on a libuv thread.
 *    Writes made while one sync runs are committed when it ends and wait for the next, so one
 *    fsync covers every commit made before it started.
 *
 * What this keeps: no response, webhook or e-mail leaves the register until everything written
 * so far — including other requests' writes it may have read — is committed and on disk (the
 * onSend hook in app.ts and the workers call `durable()`), so a crash or power cut can never
 * lose or un-show something anyone was told. Other requests on this connection may *read* a
 * write a few milliseconds before it is durable, but they are not answered until it is.
 * Checkpoints stay safe: with NORMAL, SQLite syncs the WAL before each checkpoint, the database
 * after it, and the WAL header when the WAL is reused.
 *
 * "Written so far" is SQLite's own `total_changes()` counter (every row inserted, updated or
 * deleted on this connection), so no write path has to remember to report itself.
 */
export class GroupCommit {
  private readonly totalChanges: Database.Statement;
  private readonly begin: Database.Statement;
  private readonly commit: Database.Statement;
  private readonly rollback: Database.Statement;
  private syncedTo: number;
  private batchOpen = false;
  private running = false;
  private kickQueued = false;
  private directorySynced = false;
  private waiters: Waiter[] = [];
  /** Batches committed, fsyncs done and how many waiters the last fsync released (for tests and the benchmark). */
  readonly stats = { commits: 0, syncs: 0, lastBatch: 0 };

  /**
   * @param walFile the database's `-wal` file, or null for an in-memory database (nothing to
   *   sync; transactions are still batched, so tests exercise the same path).
   */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly walFile: string | null,
    private readonly sync: SyncFile = syncFile,
  ) {
    this.totalChanges = sqlite.prepare('select total_changes()').pluck();
    this.begin = sqlite.prepare('BEGIN IMMEDIATE');
    this.commit = sqlite.prepare('COMMIT');
    this.rollback = sqlite.prepare('ROLLBACK');
    if (walFile) sqlite.pragma('synchronous = NORMAL');
    this.syncedTo = this.changes();
  }

  private changes(): number {
    return this.totalChanges.get() as number;
  }

  /**
   * Runs `fn` as one all-or-nothing unit inside the current batch transaction (a savepoint;
   * better-sqlite3 nests transactions that way). The state change and its audit and outbox
   * rows commit together or not at all.
   */
  tx<T>(fn: () => T): T {
    if (!this.batchOpen) {
      this.begin.run();
      this.batchOpen = true;
      setImmediate(() => this.endOfTurn());
    }
    try {
      return this.sqlite.transaction(fn)();
    } finally {
      // An I/O error or a full disk can make SQLite roll the whole batch back by itself.
      if (!this.sqlite.inTransaction) this.batchLost(new Error('the batch transaction was rolled back by SQLite'));
    }
  }

  /**
   * The turn in which the batch opened is over. While an fsync is running, nobody can be
   * answered before the *next* fsync anyway, so the batch stays open and gathers the writes
   * of the following turns too; `settle` commits it when the running fsync ends. One commit
   * per fsync instead of one per turn: pages that several of those writes share (the table's
   * tail, index tails, the audit chain, the counters) go to the WAL once (docs/performance.md).
   */
  private endOfTurn(): void {
    if (!this.running) this.endBatch();
  }

  /** Commits the open batch (if any). Also called before close. */
  endBatch(): void {
    if (!this.batchOpen || !this.sqlite.open) return;
    try {
      this.commit.run();
      this.batchOpen = false;
      this.stats.commits++;
    } catch (err) {
      if (this.sqlite.inTransaction) this.rollback.run();
      this.batchLost(err as Error);
    }
  }

  /** Everything written since the last durable point is gone: nobody waiting may be told otherwise. */
  private batchLost(err: Error): void {
    this.batchOpen = false;
    this.syncedTo = this.changes();
    const failed = this.waiters;
    this.waiters = [];
    for (const w of failed) w.reject(new Error(`could not commit: ${err.message}`));
  }

  /** True when something has been written that is not yet known to be committed and on disk. */
  get pending(): boolean {
    return this.changes() > this.syncedTo;
  }

  /** Resolves once every change made before the call is committed and on stable storage. */
  durable(): Promise<void> {
    const target = this.changes();
    if (target <= this.syncedTo) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      // Not at once: the requests that arrived in this turn of the event loop are still
      // being handled, and should join this batch and this fsync.
      if (!this.kickQueued) {
        this.kickQueued = true;
        setImmediate(() => {
          this.kickQueued = false;
          this.kick();
        });
      }
    });
  }

  private kick(): void {
    if (this.running || this.waiters.length === 0) return;
    this.endBatch();
    if (this.waiters.length === 0) return; // the commit failed and released them
    // Everything counted here is committed and written to the WAL file, so one fdatasync that
    // starts after this line covers all of it.
    const covered = this.changes();
    if (!this.walFile) return this.settle(covered, null);
    this.running = true;
    this.flush().then(
      () => this.settle(covered, null),
      (err: Error) => this.settle(covered, err),
    );
  }

  private async flush(): Promise<void> {
    await this.sync(this.walFile!);
    // The WAL file is created by the first write after opening; its directory entry must be
    // durable too, once.
    if (!this.directorySynced) {
      await this.sync(dirname(this.walFile!), true);
      this.directorySynced = true;
    }
  }

  private settle(covered: number, err: Error | null): void {
    this.running = false;
    const done = this.waiters.filter((w) => w.target <= covered);
    this.waiters = this.waiters.filter((w) => w.target > covered);
    if (err) {
      for (const w of done) w.reject(new Error(`could not make the commit durable: ${err.message}`));
    } else {
      this.syncedTo = Math.max(this.syncedTo, covered);
      if (this.walFile) this.stats.syncs++;
      this.stats.lastBatch = done.length;
      for (const w of done) w.resolve();
    }
    this.kick();
    // A batch held open during the fsync (see endOfTurn) that nobody waits on yet, such as a
    // background job's writes, is committed now rather than left open.
    if (!this.running) this.endBatch();
  }
}
