import type { Store } from '../db/store.js';
import { errorForLog } from '../http/log-redaction.js';
import { PeriodicWorker } from './worker.js';

/**
 * Background worker (one of `Services.workers`) that folds the pending changes of
 * access_record_count_deltas into access_record_counts, on PostgreSQL.
 *
 * Why: each Data User's record counts are one row per state. Had every create updated that row,
 * its lock would be held until the create commits, and one Data User's creates, from any node,
 * would commit one after another (docs/performance.md "PostgreSQL"). The count triggers there
 * append +1/-1 changes instead (no lock shared between creates), counts read the row plus its
 * pending changes (AccessRecords.countOwned), and this job folds the changes in every
 * `intervalMs`, on one node at a time (job lock `record-counts`), so they stay few.
 *
 * On SQLite (one writer) the triggers update the counts directly and there is nothing to fold:
 * `dialect.foldRecordCountDeltas` is null and a pass does nothing.
 */
export class RecordCountFolder extends PeriodicWorker<number> {
  readonly name = 'record-counts';
  private reported = false;

  constructor(
    private readonly store: Store,
    intervalMs: number,
  ) {
    super(intervalMs);
  }

  /** Folds what is pending now; resolves to the number of count rows changed (0 when nothing was pending or another node holds the job). */
  runOnce(): Promise<number> {
    return this.runPass();
  }

  protected async pass(): Promise<number> {
    const fold = this.store.dialect.foldRecordCountDeltas;
    if (!fold) return 0;
    try {
      const folded = await this.store.tx(async () => {
        if (!(await this.store.tryJobLock('record-counts'))) return 0;
        return this.store.execute(fold);
      });
      this.reported = false;
      return folded;
    } catch (err) {
      // Said once per fault (a database restart, say), not every second.
      if (!this.reported) console.error('record count folding stopped', errorForLog(err));
      this.reported = true;
      return 0;
    }
  }
}
