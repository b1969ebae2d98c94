import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type Database from 'better-sqlite3';

/**
 * WAL checkpoints on a worker thread (docs/performance.md).
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that pushes the WAL past 1,000 pages:
 * it copies those pages into the database file and fsyncs both files, synchronously on the
 * event loop — a multi-millisecond stall every few dozen writes, and about a fifth of the CPU
 * of a write-heavy load. Here a second connection, on its own thread, runs
 * `wal_checkpoint(PASSIVE)` every `intervalMs`: PASSIVE never blocks the register's reads or
 * writes, and copies whatever is committed. The register's connection keeps an automatic
 * checkpoint only as a backstop (at 16,000 pages ≈ 64 MB), in case this thread stops.
 *
 * The worker is plain JavaScript evaluated from a string, so it runs the same way under tsx,
 * in the compiled bundle and in Electron; it loads the same better-sqlite3 the register uses.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
db.pragma('busy_timeout = 1000');
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
const timer = setInterval(() => {
  try { checkpoint.get(); } catch (err) { parentPort.postMessage({ error: String(err && err.message || err) }); }
}, workerData.intervalMs);
parentPort.on('message', (m) => {
  if (m !== 'stop') return;
  clearInterval(timer);
  db.close();
  parentPort.close();
});
`;

export const BACKSTOP_AUTOCHECKPOINT_PAGES = 16_000;

export interface Checkpointer {
  stop(): Promise<void>;
}

export function startCheckpointer(sqlite: Database.Database, file: string, intervalMs = 100, onError: (message: string) => void = () => {}): Checkpointer {
  sqlite.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_PAGES}`);
  const driver = createRequire(import.meta.url).resolve('better-sqlite3');
  const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { driver, file, intervalMs } });
  worker.unref(); // never keeps the process alive by itself
  worker.on('message', (m: { error?: string }) => m.error && onError(m.error));
  worker.on('error', (err) => onError(err.message));
  const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
  return {
    async stop() {
      // Referenced again while stopping, or the process could end (nothing else left to do)
      // before the register has closed its database.
      worker.ref();
      worker.postMessage('stop');
      await exited;
    },
  };
}
