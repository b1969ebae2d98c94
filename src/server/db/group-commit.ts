import { close, closeSync, fdatasync, fsync, open, openSync } from 'node:fs';
import { AsyncLocalStorage } from 'node:async_hooks';
import { dirname } from 'node:path';
import type Database from 'better-sqlite3';
import type { Durability } from './store.js';

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

/**
 * `syncFile` for one file synced again and again (the WAL): the file is opened on the first
 * sync and kept open, so each sync is one fdatasync. Opening and closing the file around every
 * sync doubled its CPU (about 125–165 against 65–105 µs per sync of a small file on this
 * machine, docs/performance.md). SQLite keeps the WAL file while the connection is open (it
 * resets and truncates it, never replaces it), so the descriptor stays that file's. `release`
 * closes it (GroupCommit.close). A directory is synced as syncFile does.
 */
export function keptOpenSync(): SyncFile & { release(): void } {
  const fds = new Map<string, number>();
  let released = false;
  const sync = (path: string, directory = false): Promise<void> => {
    // After release, as syncFile (nothing is kept open any more).
    if (directory || released) return syncFile(path, directory);
    let fd = fds.get(path);
    if (fd === undefined) {
      try {
        fd = openSync(path, 'r+');
      } catch (err) {
        return Promise.reject(err as Error);
      }
      fds.set(path, fd);
    }
    return new Promise((resolve, reject) => fdatasync(fd, (err) => (err ? reject(err) : resolve())));
  };
  return Object.assign(sync, {
    release() {
      released = true;
      for (const fd of fds.values()) closeSync(fd);
      fds.clear();
    },
  });
}

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
export class GroupCommit implements Durability {
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
  /** A unit is running (between its savepoint and its release); others queue behind it. */
  private active = false;
  private queue: (() => void)[] = [];
  private endDeferred = false;
  private depth = 0;
  /**
   * Marks the async call chain of the running unit, so a unit inside it nests instead of
   * queueing (which would wait for itself). Work the unit schedules (a timer, a worker's kick)
   * inherits the marker too; once the unit has ended the marker says so, and that work's units
   * queue as units of their own.
   */
  private readonly unit = new AsyncLocalStorage<{ live: boolean; after: (() => void)[] }>();
  /** Batches committed, fsyncs done and how many waiters the last fsync released (for tests and the benchmark). */
  readonly stats = { commits: 0, syncs: 0, lastBatch: 0 };

  /**
   * @param walFile the database's `-wal` file, or null for an in-memory database (nothing to
   *   sync; transactions are still batched, so tests exercise the same path).
   */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly walFile: string | null,
    private readonly sync: SyncFile & { release?(): void } = keptOpenSync(),
  ) {
    this.totalChanges = sqlite.prepare('select total_changes()').pluck();
    this.begin = sqlite.prepare('BEGIN IMMEDIATE');
    this.commit = sqlite.prepare('COMMIT');
    this.rollback = sqlite.prepare('ROLLBACK');
    if (walFile) sqlite.pragma('synchronous = NORMAL');
    this.syncedTo = this.changes();
  }

  private closed = false;

  /**
   * Releases what the sync keeps open (the WAL's descriptor), once no fsync is running; call
   * when the connection closes. A sync after it opens the file for itself again.
   */
  close(): void {
    this.closed = true;
    if (!this.running) this.sync.release?.();
  }

  private changes(): number {
    return this.totalChanges.get() as number;
  }

  /**
   * Runs `fn` as one all-or-nothing unit inside the current batch transaction: a savepoint,
   * released when `fn` resolves and rolled back when it throws. The state change and its audit
   * and outbox rows commit together or not at all.
   *
   * Units run one at a time (the connection has one transaction): a unit that starts while
   * another is between two awaits waits for it, so a rollback can never take another unit's
   * writes with it. `fn`'s awaits on this connection resolve at once, so the wait is normally
   * a few microtasks. A unit started inside a unit (the same async call chain) nests as a
   * savepoint of its own, as better-sqlite3's transactions do.
   */
  async tx<T>(fn: () => Promise<T> | T): Promise<T> {
    if (this.unit.getStore()?.live) return this.savepoint(fn);
    const marker = { live: true, after: [] as (() => void)[] };
    if (this.active) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.active = true;
    try {
      if (!this.batchOpen) {
        this.begin.run();
        this.batchOpen = true;
        setImmediate(() => this.endOfTurn());
      }
      const result = await this.unit.run(marker, () => this.savepoint(fn));
      // Outside the unit's context, so what they schedule runs as units of their own.
      for (const f of marker.after) this.unit.exit(f);
      return result;
    } finally {
      marker.live = false;
      const next = this.queue.shift();
      if (next) next();
      else {
        this.active = false;
        // The turn (or an fsync) ended while this unit was between two awaits: commit now.
        if (this.endDeferred) {
          this.endDeferred = false;
          this.endBatch();
          this.kick();
        }
      }
    }
  }

  private readonly savepoints: { open: Database.Statement; release: Database.Statement; rollback: Database.Statement }[] = [];

  /** The statements for the savepoint at nesting `depth`, prepared once. */
  private savepointStatements(depth: number) {
    return (this.savepoints[depth] ??= {
      open: this.sqlite.prepare(`SAVEPOINT u${depth}`),
      release: this.sqlite.prepare(`RELEASE u${depth}`),
      rollback: this.sqlite.prepare(`ROLLBACK TO u${depth}`),
    });
  }

  /**
   * Calls `fn` once the running unit has succeeded (at once outside a unit), outside the unit's
   * context: for waking a worker that must see, and must not join, what the unit wrote.
   */
  afterUnit(fn: () => void): void {
    const marker = this.unit.getStore();
    if (marker?.live) marker.after.push(fn);
    else this.unit.exit(fn);
  }

  private async savepoint<T>(fn: () => Promise<T> | T): Promise<T> {
    const sp = this.savepointStatements(++this.depth);
    sp.open.run();
    try {
      const result = await fn();
      sp.release.run();
      return result;
    } catch (err) {
      if (this.sqlite.inTransaction) {
        sp.rollback.run();
        sp.release.run();
      }
      throw err;
    } finally {
      this.depth--;
      // An I/O error or a full disk can make SQLite roll the whole batch back by itself.
      if (this.batchOpen && !this.sqlite.inTransaction) this.batchLost(new Error('the batch transaction was rolled back by SQLite'));
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

  /** Commits the open batch (if any), or as soon as the unit running now ends. Also called before close. */
  endBatch(): void {
    if (!this.batchOpen || !this.sqlite.open) return;
    if (this.active) {
      this.endDeferred = true;
      return;
    }
    try {
      this.commit.run();
      this.batchOpen = false;
      this.stats.commits++;
      // No unit is running or waiting, so no call chain needs its marker until the next unit's
      // `run`, which turns the storage on again. While it is on, Node calls a hook for every
      // promise the process creates, reads included (docs/performance.md "Asynchronous context
      // between units": ~4 µs of a verify's ~100).
      this.unit.disable();
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
    if (this.batchOpen) return; // a unit is running: kicked again when it ends
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
    if (this.closed) this.sync.release?.();
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
