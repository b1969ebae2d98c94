/**
 * Micro-measurement (not part of `npm run bench`): what the admin search costs each
 * access-record insert, in-process on fresh databases with the register's own migrations, in
 * three arms: `none` (the search triggers dropped), `trigger` (migration `admin_search`'s
 * per-row FTS5 trigram trigger, as it was before `admin_search_queue`), `queue` (the current
 * triggers: the insert only queues its seq, and the timed work includes the search indexer's
 * batches, services/search-index.ts). Each insert runs in its own savepoint inside a batch
 * transaction, as `tx` does in the register (FTS5 flushes its pending terms at every savepoint).
 * Run: `npx tsx bench/search-cost.ts [rows] [rows before]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/server/db/open.js';
import { defaultConfig } from '../src/server/config.js';
import { SearchIndexer, SEARCH_INDEX_BATCH } from '../src/server/services/search-index.js';

type Arm = 'none' | 'trigger' | 'queue';
/** Migration `admin_search`'s insert trigger: every insert writes the FTS5 index itself. */
const ROW_TRIGGER = `CREATE TRIGGER access_records_search_insert AFTER INSERT ON access_records BEGIN
  INSERT INTO access_records_search (rowid, mpxn, purpose, lead_controller_name, organisation_name)
    VALUES (new.seq, new.mpxn, new.purpose, new.lead_controller_name, new.organisation_name);
END;`;

const ROWS = Number(process.argv[2] ?? 20_000);
const PRE = Number(process.argv[3] ?? 20_000);
const PURPOSES = ['Half-hourly tariff optimisation and export payments', 'Heat-pump sizing and performance monitoring', 'Monthly carbon footprint report'];

/** CPU time (user + system, ms) of the timed inserts: less disturbed than wall time on a shared machine. */
async function run(arm: Arm): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), 'search-cost-'));
  try {
    const { sqlite } = openDatabase(join(dir, 'r.sqlite'), defaultConfig().migrationsFolder);
    sqlite.pragma('synchronous = NORMAL');
    // CACHE_KB=65536: a larger page cache than SQLite's default 2 MB (both arms).
    if (process.env.CACHE_KB) sqlite.pragma(`cache_size = -${Number(process.env.CACHE_KB)}`);
    if (arm !== 'queue') sqlite.exec('drop trigger access_records_search_insert');
    if (arm === 'trigger') sqlite.exec(ROW_TRIGGER);
    const indexer = new SearchIndexer(sqlite, (fn) => sqlite.transaction(fn)(), 60_000);
    const ins = sqlite.prepare(
      `insert into access_records (ak, kind, duid, ir, mpxn, state, legal_basis, arrangement_type, lead_controller_name, controller_count, purpose, data_types,
         expiry, expires_at, registered_at, body, created_at, updated_at, activated_at)
       values (?, 'record', ?, ?, ?, 'ACTIVE', 'uk-consent', 'sole', ?, 1, ?, '["HH-CONSUMPTION"]', ?, ?, ?, ?, ?, ?, ?)`,
    );
    const body = JSON.stringify({ filler: 'x'.repeat(900) });
    let n = 0;
    const insertOne = sqlite.transaction(() => {
      {
        const when = new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString();
        const expiry = new Date(Date.UTC(2027, 0, 1) + ((n * 7919) % 700) * 86_400_000).toISOString().slice(0, 10);
        ins.run(
          `ak_${((n * 2654435761) >>> 0).toString(16).padStart(8, '0')}${n.toString(16).padStart(16, '0')}`,
          `duid_${n % 40}`,
          `ir_${n}`,
          String(1_000_000_000_000 + ((n * 104729) % 9_000_000_000_000)),
          `Bench Energy ${n % 40} Ltd`,
          PURPOSES[n % PURPOSES.length],
          expiry,
          `${expiry}T23:59:59.999Z`,
          when,
          body,
          when,
          when,
          when,
        );
        n++;
      }
    });
    // One savepoint per insert inside the batch's transaction, as the register's `tx` runs them.
    const insertMany = sqlite.transaction((count: number) => {
      for (let i = 0; i < count; i++) insertOne();
    });
    // The queue arm indexes what the rows before left queued, untimed.
    const drain = async () => {
      while ((await indexer.indexBatch()) === SEARCH_INDEX_BATCH);
    };
    for (let done = 0; done < PRE; done += 1000) insertMany(1000);
    await drain();
    // The register commits groups of creates; 50 rows per transaction is in its usual range. The
    // indexer's batches (every SEARCH_INDEX_BATCH rows here) are part of the timed work.
    const c0 = process.cpuUsage();
    for (let done = 0; done < ROWS; done += 50) {
      insertMany(50);
      if ((done + 50) % SEARCH_INDEX_BATCH === 0) await drain();
    }
    await drain();
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000;
    sqlite.close();
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const arms: Arm[] = ['none', 'trigger', 'queue'];
const results: Record<Arm, number[]> = { none: [], trigger: [], queue: [] };
for (let round = 0; round < 3; round++) for (const arm of arms) results[arm].push(await run(arm));
const best = (xs: number[]) => Math.min(...xs);
const us = (ms: number) => ((ms * 1000) / ROWS).toFixed(1);
console.log(`${ROWS} inserts (a savepoint each, transactions of 50) after ${PRE} rows, CPU time, best of 3:`);
for (const arm of arms) console.log(`  ${arm.padEnd(8)} ${best(results[arm]).toFixed(0)} ms (${us(best(results[arm]))} µs/insert; runs ${results[arm].map((x) => us(x)).join(', ')})`);
console.log(`  search added per insert: per-row trigger ${us(best(results.trigger) - best(results.none))} µs, queue + batched indexer ${us(best(results.queue) - best(results.none))} µs`);
