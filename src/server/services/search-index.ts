import type Database from 'better-sqlite3';
import { errorForLog } from '../http/log-redaction.js';
import { PeriodicWorker } from './worker.js';

/**
 * The admin search's trigram index (`access_records_search`, FTS5) is kept off the request path:
 * the triggers of migration `admin_search_queue` only queue a written record's seq in this table
 * (an indexed record's old text leaves the index in the same statement), and `SearchIndexer`
 * moves queued records into the index in batches. A search scans the queued records too
 * (`AccessRecords.searchSet`), so what it finds never depends on whether the indexer has run.
 * See docs/performance.md "Creates".
 *
 * SQLite only: the index, its queue and their triggers exist in SQLite's migrations alone. On
 * PostgreSQL the admin search reads a pg_trgm index that PostgreSQL keeps itself
 * (AccessRecords.scanSearch), and the indexer, given no SQLite connection, has nothing to do.
 */
export const SEARCH_QUEUE = 'access_records_search_queue';

/** Records moved into the index per transaction: one FTS segment per batch, short write locks. */
export const SEARCH_INDEX_BATCH = 500;

/**
 * Forgets every queued record; for callers that have just rebuilt the whole index (sandbox snapshots).
 * The delete runs before this returns (SQLite answers at once); the promise is for the storage interface.
 */
export function forgetQueuedSearch(sqlite: Database.Database): Promise<void> {
  sqlite.prepare(`DELETE FROM main."${SEARCH_QUEUE}"`).run();
  return Promise.resolve();
}

/**
 * Background worker (one of `Services.workers`) that indexes queued records, a batch per turn of
 * the event loop. Without a SQLite connection (a register on PostgreSQL) every pass indexes
 * nothing and nothing is pending.
 */
export class SearchIndexer extends PeriodicWorker<number> {
  readonly name = 'search-indexer';
  private reported = false;
  private statements: { last: Database.Statement; index: Database.Statement; forget: Database.Statement; pending: Database.Statement } | null = null;

  constructor(
    /** The register's SQLite connection; null on PostgreSQL. */
    private readonly sqlite: Database.Database | null,
    /** The register's `tx` (a unit of work); its work here is synchronous raw SQLite. */
    private readonly tx: <T>(fn: () => T) => Promise<T> | T,
    intervalMs: number,
    private readonly batchSize = SEARCH_INDEX_BATCH,
  ) {
    super(intervalMs);
  }

  /** Indexes everything queued now, a batch per turn of the event loop; resolves to how many records were indexed. */
  runOnce(): Promise<number> {
    return this.runPass();
  }

  protected pass(): Promise<number> {
    return this.indexAll();
  }

  /** Moves up to one batch of queued records into the index, in one transaction; resolves to how many. */
  async indexBatch(): Promise<number> {
    const s = this.prepared();
    if (!s) return 0;
    return this.tx(() => {
      const last = s.last.pluck().get(this.batchSize) as number | null;
      if (last === null) return 0;
      // Queued seqs whose record is gone were removed by the delete trigger; every queued record's
      // current text goes in, and the queue forgets exactly the seqs that were read. The queue is
      // the outer loop (`CROSS JOIN`): the queued seqs are the newest, so a plain join let SQLite
      // walk access_records by `seq <= last`, i.e. the whole table, once per batch.
      s.index.run(last);
      return s.forget.run(last).changes;
    });
  }

  /** How many records wait to be indexed. */
  pending(): Promise<number> {
    const s = this.prepared();
    return Promise.resolve(s ? (s.pending.pluck().get() as number) : 0);
  }

  /** The indexer's statements, prepared on first use; null without SQLite. */
  private prepared() {
    const sqlite = this.sqlite;
    if (!sqlite) return null;
    this.statements ??= {
      last: sqlite.prepare(`SELECT max(seq) FROM (SELECT seq FROM "${SEARCH_QUEUE}" ORDER BY seq LIMIT ?)`),
      index: sqlite.prepare(
        `INSERT INTO access_records_search (rowid, mpxn, purpose, lead_controller_name, organisation_name)
         SELECT a.seq, a.mpxn, a.purpose, a.lead_controller_name, a.organisation_name
         FROM "${SEARCH_QUEUE}" q CROSS JOIN access_records a ON a.seq = q.seq WHERE q.seq <= ?`,
      ),
      forget: sqlite.prepare(`DELETE FROM "${SEARCH_QUEUE}" WHERE seq <= ?`),
      pending: sqlite.prepare(`SELECT count(*) FROM "${SEARCH_QUEUE}"`),
    };
    return this.statements;
  }

  private async indexAll(): Promise<number> {
    let total = 0;
    try {
      for (;;) {
        const n = await this.indexBatch();
        total += n;
        if (n < this.batchSize || this.stopped) break;
        // A backlog (after a restart or a bulk load) is indexed without keeping requests waiting.
        await new Promise((resolve) => setImmediate(resolve));
      }
      this.reported = false;
    } catch (err) {
      // Said once per fault, not every second.
      if (!this.reported) console.error('admin search indexing stopped', errorForLog(err));
      this.reported = true;
    }
    return total;
  }
}
