/**
 * Micro-measurement (not part of `npm run bench`): what the admin-search migration costs each
 * access-record insert — the FTS5 trigram trigger and the two sort/filter indexes — measured
 * in-process on two fresh databases with the register's own migrations, one of them with the
 * trigger and indexes dropped again (ONLY=fts: the trigger alone). Run:
 * `npx tsx bench/search-cost.ts [rows] [rows before]`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '../src/server/db/open.js';
import { defaultConfig } from '../src/server/config.js';

const ROWS = Number(process.argv[2] ?? 20_000);
const PRE = Number(process.argv[3] ?? 20_000);
const PURPOSES = ['Half-hourly tariff optimisation and export payments', 'Heat-pump sizing and performance monitoring', 'Monthly carbon footprint report'];

/** CPU time (user + system, ms) of the timed inserts: less disturbed than wall time on a shared machine. */
function run(withSearch: boolean): number {
  const dir = mkdtempSync(join(tmpdir(), 'search-cost-'));
  try {
    const { sqlite } = openDatabase(join(dir, 'r.sqlite'), defaultConfig().migrationsFolder);
    sqlite.pragma('synchronous = NORMAL');
    // CACHE_KB=65536: a larger page cache than SQLite's default 2 MB (both arms).
    if (process.env.CACHE_KB) sqlite.pragma(`cache_size = -${Number(process.env.CACHE_KB)}`);
    if (!withSearch) {
      for (const t of ['insert', 'update', 'delete']) sqlite.exec(`drop trigger access_records_search_${t}`);
      // ONLY=fts: compare with and without the search trigger alone (both keep the two indexes).
      if (process.env.ONLY !== 'fts') sqlite.exec('drop index access_records_expires_at_idx; drop index access_records_created_at_idx');
    }
    const ins = sqlite.prepare(
      `insert into access_records (ak, kind, duid, ir, mpxn, state, legal_basis, arrangement_type, lead_controller_name, controller_count, purpose, data_types,
         expiry, expires_at, registered_at, body, created_at, updated_at, activated_at)
       values (?, 'record', ?, ?, ?, 'ACTIVE', 'uk-consent', 'sole', ?, 1, ?, '["HH-CONSUMPTION"]', ?, ?, ?, ?, ?, ?, ?)`,
    );
    const body = JSON.stringify({ filler: 'x'.repeat(900) });
    let n = 0;
    const insertMany = sqlite.transaction((count: number) => {
      for (let i = 0; i < count; i++, n++) {
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
      }
    });
    for (let done = 0; done < PRE; done += 1000) insertMany(1000);
    // The register commits groups of creates; 50 rows per transaction is in its usual range.
    const c0 = process.cpuUsage();
    for (let done = 0; done < ROWS; done += 50) insertMany(50);
    const c = process.cpuUsage(c0);
    const ms = (c.user + c.system) / 1000;
    sqlite.close();
    return ms;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: Record<string, number[]> = { without: [], with: [] };
for (let round = 0; round < 3; round++) {
  results.without.push(run(false));
  results.with.push(run(true));
}
const best = (xs: number[]) => Math.min(...xs);
const us = (ms: number) => ((ms * 1000) / ROWS).toFixed(1);
console.log(`${ROWS} inserts (transactions of 50) after ${PRE} rows, CPU time, best of 3:`);
console.log(`  without search index: ${best(results.without).toFixed(0)} ms (${us(best(results.without))} µs/insert)`);
console.log(`  with search index:    ${best(results.with).toFixed(0)} ms (${us(best(results.with))} µs/insert)`);
console.log(`  added per insert:     ${us(best(results.with) - best(results.without))} µs`);
