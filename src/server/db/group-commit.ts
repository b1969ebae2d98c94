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

/**
 * Group commit (issue 7): many transactions, one fsync.
 *
 * With `synchronous = FULL`, SQLite fsyncs the WAL inside every COMMIT, on the event loop:
 * about 2–4 ms each on this disk, so durable writes were capped at a few hundred per second
 * and every other request queued behind each fsync. Instead the connection runs with
 * `synchronous = NORMAL` (a COMMIT only write()s its WAL frames into the page cache) and the
 * register makes them durable itself: before a response leaves, `durable()` fdatasyncs the WAL
 * file on a libuv thread. Requests that commit while one sync runs wait for the next, so one
 * fsync covers every commit made before it started — the classic group commit.
 *
 * What this keeps: a client is only answered once everything committed so far (including
 * other requests' commits it may have read) is on disk, so a power cut can never lose or
 * un-show something a client was told about. Webhooks and e-mail also wait for `durable()`
 * before anything leaves the register. What it changes: other requests may *read* a commit
 * a few milliseconds before it is durable — but they are not answered until it is.
 *
 * Checkpoints stay safe: with NORMAL, SQLite syncs the WAL before each checkpoint, the
 * database after it, and the WAL header when the WAL is reused.
 *
 * "Committed so far" is SQLite's own `total_changes()` counter (every row inserted,
 * updated or deleted on this connection), so no write path has to remember to report itself.
 */
export class GroupCommit {
  private readonly totalChanges: Database.Statement;
  private syncedTo: number;
  private running = false;
  private directorySynced = false;
  private waiters: { target: number; resolve: () => void; reject: (err: Error) => void }[] = [];
  /** fsyncs done and commits-per-fsync, for the stats endpoint and the benchmark. */
  readonly stats = { syncs: 0, lastBatch: 0 };

  /**
   * @param walFile the database's `-wal` file, or null for an in-memory database (nothing to sync).
   */
  constructor(
    private readonly sqlite: Database.Database,
    private readonly walFile: string | null,
    private readonly sync: SyncFile = syncFile,
  ) {
    this.totalChanges = sqlite.prepare('select total_changes()').pluck();
    if (walFile) sqlite.pragma('synchronous = NORMAL');
    this.syncedTo = this.changes();
  }

  private changes(): number {
    return this.totalChanges.get() as number;
  }

  /** True when something has been committed that is not yet known to be on disk. */
  get pending(): boolean {
    return this.walFile !== null && this.changes() > this.syncedTo;
  }

  /** Resolves once every change committed before the call is on stable storage. */
  durable(): Promise<void> {
    if (!this.walFile) return Promise.resolve();
    const target = this.changes();
    if (target <= this.syncedTo) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiters.push({ target, resolve, reject });
      this.kick();
    });
  }

  private kick(): void {
    if (this.running || this.waiters.length === 0) return;
    this.running = true;
    // Everything counted here has been written to the WAL file (COMMIT returned), so one
    // fdatasync that starts after this line covers all of it.
    const covered = this.changes();
    const batch = this.waiters.filter((w) => w.target <= covered).length;
    void this.flush().then(
      () => {
        this.syncedTo = Math.max(this.syncedTo, covered);
        this.stats.syncs++;
        this.stats.lastBatch = batch;
        this.settle((w) => w.target <= covered, (w) => w.resolve());
      },
      (err: Error) => this.settle((w) => w.target <= covered, (w) => w.reject(new Error(`could not make the commit durable: ${err.message}`))),
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

  private settle(done: (w: { target: number }) => boolean, finish: (w: (typeof this.waiters)[number]) => void): void {
    const now = this.waiters.filter(done);
    this.waiters = this.waiters.filter((w) => !done(w));
    this.running = false;
    for (const w of now) finish(w);
    this.kick();
  }
}
