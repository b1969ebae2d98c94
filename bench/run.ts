/**
 * `npm run bench [-- --sizes 10k,100k,1m --duration 5 --connections 10] [--db postgres://…]`
 *
 * For each size: bulk-load a fresh data folder (bench/load.ts), start the register on it as
 * a child process, measure its start time (spawn → first HTTP response), then drive each
 * endpoint with autocannon and a bare-Fastify ceiling (bench/ceiling.ts) serving the same
 * response bodies. Reports req/s, p50/p99/max latency, ratio to the ceiling, register RSS and
 * database size; prints a table and writes bench/results/<timestamp>.json.
 *
 * The register runs as compiled JavaScript (one esbuild bundle of src/server/cli.ts and its
 * dependencies, out/bench/cli.mjs), which is how a deployment would ship it; the start time
 * under tsx (`npm run register`, TypeScript compiled on the fly) is measured and reported beside it.
 *
 * With `--db postgres://…` the same scenarios run against a register on that PostgreSQL database
 * (bench/pg-load.ts): for each size the database is emptied, migrated (`npm run register --
 * migrate`) and loaded with COPY, a key file is made with `npm run register -- keys new`, and
 * every register process starts with `--db <url> --keys-file <file>`. The memory reported is
 * the node's; the database server's is outside it (its CPU per request is reported beside).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { compileRegister, diskSyncMs, drive, driveRegister, fileMb, login, ROOT, round, rssOf, scenarios, sleep, startCeiling, startRegister, sweptBacklog, type Measured } from './harness.js';
import { readPlan } from '../src/server/db/read-ahead.js';
import { bulkLoad, type Fixture } from './load.js';
import { databaseMb, displayDb, newKeyFile, resetBenchDatabase, serverCpuMs, serverProcesses, serverVersion, sweptBacklogPg } from './pg-load.js';

// ---------------------------------------------------------------- options
interface Options {
  sizes: number[];
  duration: number;
  connections: number;
  dataUsers: number;
  keep: boolean;
  only: string[] | null;
  /** Write a V8 CPU profile of the register (compiled run) into this folder. */
  profile: string | null;
  /** Compiled restarts measured per size (start time is noisy on a shared 2-core machine). */
  starts: number;
  /** Reuse a data folder kept by an earlier `--keep` run instead of bulk-loading (one size). */
  data: string | null;
  /** Where the compiled register goes; another path lets two benchmarks share a working tree. */
  outfile: string;
  /** Extra register flags for the measured (compiled) runs, e.g. `--log-level silent`; none by default. */
  registerArgs: string[];
  /** PostgreSQL database the bench empties, loads and runs the register on; null: SQLite in a data folder. */
  db: string | null;
}

function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)([km]?)$/i.exec(s.trim());
  if (!m) throw new Error(`bad size "${s}" (use e.g. 10k, 100k, 1m)`);
  return Math.round(Number(m[1]) * (m[2].toLowerCase() === 'k' ? 1e3 : m[2].toLowerCase() === 'm' ? 1e6 : 1));
}

function parseOptions(argv: string[]): Options {
  const o: Options = { sizes: [10_000, 100_000], duration: 5, connections: 10, dataUsers: 50, keep: false, only: null, profile: null, starts: 5, data: null, outfile: join(ROOT, 'out', 'bench', 'cli.mjs'), registerArgs: [], db: null };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    switch (flag) {
      case '--sizes':
        o.sizes = value().split(',').map(parseSize);
        break;
      case '--duration':
        o.duration = Number(value());
        break;
      case '--connections':
        o.connections = Number(value());
        break;
      case '--data-users':
        o.dataUsers = Number(value());
        break;
      case '--only':
        o.only = value().split(',');
        break;
      case '--keep':
        o.keep = true;
        break;
      case '--profile':
        o.profile = resolve(value());
        break;
      case '--starts':
        o.starts = Math.max(1, Number(value()));
        break;
      case '--data':
        o.data = resolve(value());
        break;
      case '--outfile':
        o.outfile = resolve(value());
        break;
      case '--register-args':
        o.registerArgs = value().split(' ').filter(Boolean);
        break;
      case '--db':
        o.db = value();
        if (!/^postgres(ql)?:\/\//.test(o.db)) throw new Error('--db takes a postgres:// URL (SQLite, the default, needs no option)');
        break;
      case '--help':
        process.stdout.write(
          'npm run bench -- [--sizes 10k,100k[,1m]] [--duration <s per endpoint, default 5>] [--connections <n, default 10>] [--data-users <n, default 50>] [--only verify,create,...] [--keep] [--profile <dir>] [--starts <compiled restarts, default 5>] [--data <folder kept by --keep>] [--outfile <compiled register, default out/bench/cli.mjs; keep it two folders below the repo>] [--register-args "<register flags, e.g. --log-level silent; default none: the default configuration, request log included>"] [--db <postgres://user@host:port/database: run on PostgreSQL; the bench EMPTIES that database, so give it one of its own>]\n',
        );
        process.exit(0);
        break; // not reached: process.exit
      default:
        throw new Error(`unknown option ${flag}`);
    }
  }
  return o;
}

// ---------------------------------------------------------------- main
interface SizeResult {
  size: number;
  counts: Record<string, number>;
  loadSeconds: number;
  dbMb: number;
  /** Median of the compiled restarts in `startMsRuns`. */
  startMs: number;
  startMsRuns: number[];
  /** Median CPU time (user + system) of the compiled restarts until their first answer. */
  startCpuMs: number;
  startMsTsx: number;
  /** null when the data folder was reused (--data): it was not a first start. */
  firstStartMs: number | null;
  rssMb: number;
  rssPeakMb: number;
  /** Anonymous / file-backed parts of the register's RSS at its sampled peak. */
  rssPeakAnonMb: number;
  rssPeakFileMb: number;
  loadavgBefore: number[];
  loadavgAfter: number[];
  /** The data folder's disk: an fdatasync after a 4 KiB write, ms (harness.ts diskSyncMs); null on PostgreSQL, whose WAL is synced by the server. */
  diskSyncMs: { p50: number; p99: number; max: number } | null;
  /**
   * What the request log costs a verify: the register's CPU µs per verify with the log on (the
   * main run and one more) and with `--log-level silent` (two runs), alternated on restarted
   * registers, and the relative cost of the means. null when verify was not run or the run
   * already had its own register flags.
   */
  logCost: { onUs: number[]; offUs: number[]; cost: number } | null;
  endpoints: Record<
    string,
    { label: string; pending?: string; register?: Measured; single?: Measured; ceiling?: Measured; ratio?: number; bodyBytes?: number; rssPeakMb?: number; rssPeakAnonMb?: number; rssPeakFileMb?: number; dbCpuUsPerReq?: number }
  >;
}

/** The fixture of a kept data folder (`--keep`), so `--data` can reuse the folder without reloading it. */
const FIXTURE_FILE = 'bench-fixture.json';

async function runSize(size: number, opts: Options, compiled: string): Promise<SizeResult> {
  const dir = opts.data ?? mkdtempSync(join(tmpdir(), `dar-bench-${size}-`));
  process.stderr.write(`\n== ${size.toLocaleString('en-GB')} access records (data folder ${dir}${opts.data ? ', reused' : ''})\n`);
  const loadavgBefore = loadavg();
  const dbFile = join(dir, 'register.sqlite');
  // PostgreSQL: the key file the loader writes with and every register process starts with (in
  // the bench's folder, kept with it by --keep), and the flags that put a register on the database.
  const keysFile = join(dir, 'bench.keys.json');
  const dbArgs = opts.db ? ['--db', opts.db, '--keys-file', keysFile] : [];
  let fixture: Fixture;
  let firstStartMs: number | null = null;
  if (opts.data) {
    fixture = JSON.parse(readFileSync(join(dir, FIXTURE_FILE), 'utf8')) as Fixture;
  } else {
    if (opts.db) {
      const t0 = performance.now();
      await resetBenchDatabase(opts.db);
      newKeyFile(keysFile);
      process.stderr.write(`  ${displayDb(opts.db)} emptied and migrated, key file written, in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
    fixture = await bulkLoad({ dataDir: dir, db: opts.db ?? undefined, keysFile: opts.db ? keysFile : undefined, records: size, dataUsers: opts.dataUsers, hotMeterPoints: 5, hotSize: 300, verifyAudit: size <= 100_000 });
    if (opts.keep) writeFileSync(join(dir, FIXTURE_FILE), JSON.stringify(fixture));
    // The first start after a bulk load also builds SQLite's planner statistics once (PRAGMA
    // optimize at open) and sweeps the loaded backlog; it is measured and reported on its own.
    const first = await startRegister([process.execPath, compiled], dir, dbArgs);
    firstStartMs = first.startMs;
    // The synthetic history includes records already past their expiry and DISCOVERED rows not
    // seen for months: the first start's lifecycle sweeper moves them (in the background). Let
    // it finish, so the restarts below are ordinary restarts of an up-to-date register.
    await (opts.db ? sweptBacklogPg(opts.db) : sweptBacklog(dbFile));
    await first.stop();
  }
  const dbMb = opts.db ? await databaseMb(opts.db) : fileMb(dbFile) + fileMb(`${dbFile}-wal`);
  // Measured while nothing else writes, before the register starts: about the least a durable
  // answer can wait here, reported beside the listing's and the creates' targets.
  const diskSync = opts.db ? null : diskSyncMs(dir);
  if (diskSync) process.stderr.write(`  the data folder's disk: fdatasync after a 4 KiB write p50 ${diskSync.p50} ms, p99 ${diskSync.p99} ms, slowest ${diskSync.max} ms (200 syncs)\n`);
  // Then a restart under tsx (what `npm run register` does), then compiled restarts: one start
  // is too noisy on a shared 2-core machine (0.6–1.5 s for the same build), so several are
  // measured and the median reported; the last one is the register the benchmark runs against.
  const viaTsx = await startRegister([process.execPath, '--import', 'tsx', join(ROOT, 'src', 'server', 'cli.ts')], dir, dbArgs);
  const startMsTsx = viaTsx.startMs;
  await viaTsx.stop();
  const nodeFlags = (process.env.DAR_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const compiledCommand = [process.execPath, ...nodeFlags, compiled];
  const startMsRuns: number[] = [];
  const startCpuMsRuns: number[] = [];
  for (let i = 1; i < opts.starts; i++) {
    const r = await startRegister(compiledCommand, dir, [...opts.registerArgs, ...dbArgs]);
    startMsRuns.push(r.startMs);
    startCpuMsRuns.push(r.startCpuMs);
    await r.stop();
  }
  const reg = await startRegister([process.execPath, ...nodeFlags, ...(opts.profile ? ['--cpu-prof', `--cpu-prof-dir=${opts.profile}`] : []), compiled], dir, [...opts.registerArgs, ...dbArgs]);
  startMsRuns.push(reg.startMs);
  startCpuMsRuns.push(reg.startCpuMs);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  const startMs = median(startMsRuns);
  const startCpuMs = median(startCpuMsRuns);
  process.stderr.write(
    `  register started in ${startMs.toFixed(0)} ms compiled (median of ${startMsRuns.length}: ${startMsRuns.map((x) => x.toFixed(0)).join(', ')}; CPU ${startCpuMs} ms), ${startMsTsx.toFixed(0)} ms under tsx${firstStartMs === null ? '' : ` (first start after the bulk load: ${firstStartMs.toFixed(0)} ms)`}\n`,
  );
  // The register compiles the remaining route schemas in the background after it starts
  // listening (~1 s of CPU); let that finish so it does not weigh on the first measurement.
  await sleep(3000);

  // PostgreSQL on this machine: its processes' CPU time is measured beside the register's.
  const dbProcesses = opts.db ? await serverProcesses(opts.db) : null;
  let peak = { rssMb: 0, anonMb: 0, fileMb: 0 };
  let endpointPeak = { rssMb: 0, anonMb: 0, fileMb: 0 };
  const sampler = setInterval(() => {
    try {
      const rss = rssOf(reg.child.pid!);
      if (rss.rssMb > peak.rssMb) peak = rss;
      if (rss.rssMb > endpointPeak.rssMb) endpointPeak = rss;
    } catch {
      /* exited */
    }
  }, 100);

  try {
    const tokens = { du: await login(reg.base, fixture.du), du2: await login(reg.base, fixture.du2), portal: await login(reg.base, fixture.portal), admin: await login(reg.base, fixture.admin) };

    const list = scenarios(fixture, tokens, opts);
    // One sample body per scenario: checks it answers 2xx, and feeds the ceiling server.
    const samples: unknown[] = [];
    for (const s of list) {
      const r = s.next();
      const res = await fetch(`${reg.base}${r.path}`, { method: r.method ?? 'GET', headers: { ...(r.headers ?? {}), ...(r.body ? { 'content-type': 'application/json' } : {}) }, body: r.body });
      const text = await res.text();
      if (res.status === 404 && text.includes('No route')) s.pending = 'endpoint not implemented on this register yet';
      else if (res.status >= 300) throw new Error(`${s.name}: ${res.status} ${text.slice(0, 300)}`);
      samples.push(text ? JSON.parse(text) : {});
    }
    const bodiesFile = join(dir, 'ceiling-bodies.json');
    writeFileSync(bodiesFile, JSON.stringify(samples));
    const ceiling = await startCeiling(bodiesFile);

    const endpoints: SizeResult['endpoints'] = {};
    try {
      for (const [i, s] of list.entries()) {
        const entry: SizeResult['endpoints'][string] = { label: s.label, bodyBytes: Buffer.byteLength(JSON.stringify(samples[i])) };
        endpoints[s.name] = entry;
        if (s.pending) {
          entry.pending = s.pending;
          process.stderr.write(`  ${s.name.padEnd(16)} pending: ${s.pending}\n`);
          continue;
        }
        const conns = s.connections ?? opts.connections;
        endpointPeak = { rssMb: 0, anonMb: 0, fileMb: 0 };
        await drive(reg.base, s.next, 1, conns); // warm-up
        // With the CPU time the register (all its threads) spent per answered request: unlike
        // req/s, hardly moved by other load on the machine. And its disk reads and writes.
        const dbCpu0 = dbProcesses ? serverCpuMs(dbProcesses) : 0;
        entry.register = await driveRegister(reg.child.pid!, reg.base, s.next, opts.duration, conns);
        if (dbProcesses) entry.dbCpuUsPerReq = Math.round((1000 * (serverCpuMs(dbProcesses) - dbCpu0)) / Math.max(1, entry.register.requests + entry.register.non2xx));
        // Latency without queueing: one connection, one request at a time.
        entry.single = await drive(reg.base, s.next, Math.min(2, opts.duration), 1);
        entry.rssPeakMb = round(endpointPeak.rssMb, 0);
        entry.rssPeakAnonMb = round(endpointPeak.anonMb, 0);
        entry.rssPeakFileMb = round(endpointPeak.fileMb, 0);
        await drive(ceiling.base, () => ({ path: `/c/${i}` }), 1, conns);
        entry.ceiling = await drive(ceiling.base, () => ({ path: `/c/${i}` }), opts.duration, conns);
        entry.ratio = entry.register.rps / entry.ceiling.rps;
        const m = entry.register;
        process.stderr.write(
          `  ${s.name.padEnd(16)} ${m.rps.toFixed(0).padStart(7)} req/s  p50 ${m.p50.toFixed(2)} ms  p99 ${m.p99.toFixed(2)} ms  CPU ${m.cpuUsPerReq} µs/req${entry.dbCpuUsPerReq === undefined ? '' : ` (+ PostgreSQL ${entry.dbCpuUsPerReq} µs/req)`}  disk read ${m.diskReadKiBPerReq} / written ${m.diskWriteKiBPerReq} KiB/req  (ceiling ${entry.ceiling.rps.toFixed(0)} req/s, ratio ${entry.ratio.toFixed(2)}; 1 conn p50 ${entry.single.p50.toFixed(2)} p99 ${entry.single.p99.toFixed(2)} ms; RSS ≤ ${entry.rssPeakMb} MB: ${entry.rssPeakAnonMb} anon + ${entry.rssPeakFileMb} file)${m.non2xx ? `  non-2xx ${JSON.stringify(m.statusCodes)}` : ''}\n`,
        );
      }
    } finally {
      ceiling.child.kill('SIGTERM');
    }
    const rss = rssOf(reg.child.pid!);
    const logCost = await measureLogCost(
      reg,
      list,
      endpoints,
      opts,
      () => startRegister(compiledCommand, dir, dbArgs),
      () => startRegister(compiledCommand, dir, ['--log-level', 'silent', ...dbArgs]),
    );
    return {
      size,
      counts: fixture.counts,
      loadSeconds: round(fixture.loadSeconds, 1),
      dbMb: round(dbMb, 1),
      startMs: round(startMs, 0),
      startMsRuns: startMsRuns.map((x) => round(x, 0)),
      startCpuMs,
      startMsTsx: round(startMsTsx, 0),
      firstStartMs: firstStartMs === null ? null : round(firstStartMs, 0),
      rssMb: round(rss.rssMb, 1),
      rssPeakMb: round(Math.max(peak.rssMb, rss.hwmMb), 1),
      rssPeakAnonMb: round(peak.anonMb, 1),
      rssPeakFileMb: round(peak.fileMb, 1),
      loadavgBefore: loadavgBefore.map((x) => round(x)),
      loadavgAfter: loadavg().map((x) => round(x)),
      diskSyncMs: diskSync,
      logCost,
      endpoints,
    };
  } finally {
    clearInterval(sampler);
    await reg.stop();
    if (!opts.keep && !opts.data) rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The request log's cost (target: at most 10 % of a verify, docs/performance.md "Request logging").
 * The log is on by default, so the main run measured verify with it; this stops that register
 * and drives verify on restarted ones, off, on, off, on, off, on, each after the same settling
 * pause and warm-up as the main run, so both sides see the same weather, and compares the
 * medians of each side's register CPU µs per request. One register start reads ±10 % from the
 * next even on a quiet machine (which core, what the JIT made of it): two runs a side, as
 * before, let one such start decide the verdict.
 */
async function measureLogCost(
  reg: Awaited<ReturnType<typeof startRegister>>,
  list: ReturnType<typeof scenarios>,
  endpoints: SizeResult['endpoints'],
  opts: Options,
  logOn: () => ReturnType<typeof startRegister>,
  logOff: () => ReturnType<typeof startRegister>,
): Promise<SizeResult['logCost']> {
  const verify = list.find((s) => s.name === 'verify' && !s.pending);
  const main = endpoints.verify?.register?.cpuUsPerReq;
  if (!verify || main === undefined || opts.registerArgs.length > 0 || opts.profile) return null;
  await reg.stop();
  const on: number[] = [];
  const off: number[] = [];
  for (let i = 0; i < 2 * LOG_COST_RUNS; i++) {
    const side = i % 2 === 0 ? 'off' : 'on';
    const r = await (side === 'on' ? logOn() : logOff());
    try {
      await sleep(3000);
      await drive(r.base, verify.next, 1, opts.connections);
      const m = await driveRegister(r.child.pid!, r.base, verify.next, opts.duration, opts.connections);
      (side === 'on' ? on : off).push(m.cpuUsPerReq!);
    } finally {
      await r.stop();
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const cost = median(on) / median(off) - 1;
  process.stderr.write(`  request log       verify CPU ${on.join(', ')} µs/req with the log, ${off.join(', ')} without: ${(100 * cost).toFixed(0)} % (medians)\n`);
  return { onUs: on, offUs: off, cost: round(cost, 3) };
}

/** Restarted registers per side in measureLogCost (an odd number, for a plain median). */
const LOG_COST_RUNS = 3;

// ---------------------------------------------------------------- report
/** The targets (docs/performance.md): ratios to the bare-Fastify ceiling measured in the same run. */
const TARGETS = {
  /** verify, default configuration (request log on), at 100k records. */
  verifyRatio: 0.6,
  verifyP99Ms: 5,
  /** Durable creates per second, at 100k and at 1M records. */
  createRps: { 100_000: 1500, 1_000_000: 1000 } as Record<number, number>,
  /** Meter-point listing p99 at 10 connections, at 100k and at 1M records. */
  meterPointP99Ms: { 100_000: 5, 1_000_000: 8 } as Record<number, number>,
  /** A hot meter point's listing against a bare route serving the same body. */
  hotRatio: 0.5,
  p99Ms: 5,
  startMs: 1000,
  /** The request log's share of a verify's CPU (log on against off). */
  logCost: 0.1,
  /** Anonymous memory (RssAnon); file-backed pages are the OS's cache. */
  rssAnonMb: 200,
};

/** Each listing and create waits for an fdatasync of the WAL before it is answered (db/group-commit.ts). */
const diskNote = (r: SizeResult) => (r.diskSyncMs ? `; the disk's fdatasync p50 ${r.diskSyncMs.p50} ms, p99 ${r.diskSyncMs.p99} ms` : '');

function fmtSize(n: number) {
  return n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n);
}

function report(results: SizeResult[], opts: Options): { table: string; verdicts: { target: string; met: boolean; detail: string }[] } {
  const names = [...new Set(results.flatMap((r) => Object.keys(r.endpoints)))];
  const lines: string[] = [];
  const header = ['endpoint', ...results.flatMap((r) => [`${fmtSize(r.size)} req/s`, 'p50 ms', 'p99 ms', 'p99 1-conn', 'CPU µs/req', 'x ceil'])];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map((_h, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  for (const n of names) {
    const cells = [results[0].endpoints[n]?.label ?? n];
    for (const r of results) {
      const e = r.endpoints[n];
      if (!e || !e.register) cells.push(e?.pending ? 'pending' : '–', '', '', '', '', '');
      else cells.push(e.register.rps.toFixed(0), e.register.p50.toFixed(2), e.register.p99.toFixed(2), e.single!.p99.toFixed(2), String(e.register.cpuUsPerReq ?? ''), e.ratio!.toFixed(2));
    }
    lines.push(`| ${cells.join(' | ')} |`);
  }
  lines.push('');
  const h2 = ['', ...results.map((r) => fmtSize(r.size))];
  lines.push(`| ${h2.join(' | ')} |`, `|${h2.map((_, i) => (i === 0 ? '---' : '---:')).join('|')}|`);
  const row = (label: string, f: (r: SizeResult) => string) => lines.push(`| ${[label, ...results.map(f)].join(' | ')} |`);
  row('register start, compiled JS (ms; median, min–max)', (r) => `${r.startMs} (${Math.min(...r.startMsRuns)}–${Math.max(...r.startMsRuns)})`);
  row('register start, compiled: CPU time until the first answer (ms, median)', (r) => String(r.startCpuMs));
  row('register start, tsx (ms)', (r) => String(r.startMsTsx));
  row('first start after bulk load, compiled (ms; one-off statistics + backlog sweep)', (r) => (r.firstStartMs === null ? '(reused folder)' : String(r.firstStartMs)));
  // On PostgreSQL the page cache and the query work are the server's, in its own processes.
  const nodeOnly = opts.db ? ' (the node only; the PostgreSQL server is outside it)' : '';
  row(`register RSS after run / peak (MB)${nodeOnly}`, (r) => `${r.rssMb.toFixed(0)} / ${r.rssPeakMb.toFixed(0)}`);
  row(`peak RSS: anonymous + file-backed (MB)${nodeOnly}`, (r) => `${r.rssPeakAnonMb.toFixed(0)} + ${r.rssPeakFileMb.toFixed(0)}`);
  row('peak RSS per endpoint, anonymous + file-backed (MB)', (r) =>
    Object.entries(r.endpoints)
      .filter(([, e]) => e.rssPeakMb !== undefined)
      .map(([n, e]) => `${n} ${e.rssPeakAnonMb} + ${e.rssPeakFileMb}`)
      .join(', '),
  );
  // A read the page cache could not serve came from the disk: where a size's figures collapse,
  // this says whether the database was in memory (docs/performance.md "Latest numbers").
  row('register disk read / written per request (KiB; reads the page cache served not counted)', (r) =>
    Object.entries(r.endpoints)
      .filter(([, e]) => e.register?.diskReadKiBPerReq !== undefined)
      .map(([n, e]) => `${n} ${e.register!.diskReadKiBPerReq} / ${e.register!.diskWriteKiBPerReq}`)
      .join(', '),
  );
  if (opts.db)
    row('PostgreSQL server CPU per request (µs; all its processes, 10 connections)', (r) =>
      Object.entries(r.endpoints)
        .filter(([, e]) => e.dbCpuUsPerReq !== undefined)
        .map(([n, e]) => `${n} ${e.dbCpuUsPerReq}`)
        .join(', '),
    );
  row('request log: verify CPU with / without it (µs per request, restarted registers, alternated) → cost of the medians', (r) =>
    r.logCost ? `${r.logCost.onUs.join(', ')} / ${r.logCost.offUs.join(', ')} → ${(100 * r.logCost.cost).toFixed(0)} %` : '–',
  );
  row(opts.db ? 'database size (MB; pg_database_size)' : 'database size (MB)', (r) => r.dbMb.toFixed(0));
  row('rows: access records + DISCOVERED', (r) => `${r.counts['access-records']} + ${r.counts.discovered}`);
  row('rows: identity records / audit events', (r) => `${r.counts['identity-records']} / ${r.counts['audit-events']}`);
  row('bulk load (s)', (r) => r.loadSeconds.toFixed(1));
  row('load average (1 min) before → after', (r) => `${r.loadavgBefore[0].toFixed(2)} → ${r.loadavgAfter[0].toFixed(2)}`);
  if (!opts.db) row("the data folder's disk: fdatasync after a 4 KiB write (ms; p50 / p99 / slowest of 200, before the register starts)", (r) => (r.diskSyncMs ? `${r.diskSyncMs.p50} / ${r.diskSyncMs.p99} / ${r.diskSyncMs.max}` : '–'));

  const verdicts: { target: string; met: boolean; detail: string }[] = [];
  const at100k = results.find((r) => r.size === 100_000) ?? results[results.length - 1];
  const v = at100k.endpoints.verify;
  if (v?.register) {
    verdicts.push({
      target: `verify ≥ ${TARGETS.verifyRatio} × ceiling at ${fmtSize(at100k.size)} (${opts.registerArgs.length ? `register flags ${opts.registerArgs.join(' ')}` : 'default configuration, request log on'})`,
      met: v.ratio! >= TARGETS.verifyRatio,
      detail: `${v.ratio!.toFixed(2)} × (${v.register.rps.toFixed(0)} vs ${v.ceiling!.rps.toFixed(0)} req/s)`,
    });
    verdicts.push({ target: `verify p99 ≤ ${TARGETS.verifyP99Ms} ms at ${fmtSize(at100k.size)}`, met: v.register.p99 <= TARGETS.verifyP99Ms, detail: `${v.register.p99.toFixed(2)} ms` });
  }
  // The scale-out target (several nodes on PostgreSQL) names 1M records as well.
  const v1m = results.find((r) => r.size === 1_000_000)?.endpoints.verify;
  if (v1m?.register) verdicts.push({ target: `verify p99 ≤ ${TARGETS.verifyP99Ms} ms at 1M`, met: v1m.register.p99 <= TARGETS.verifyP99Ms, detail: `${v1m.register.p99.toFixed(2)} ms (1 connection: ${v1m.single!.p99.toFixed(2)} ms)` });
  for (const r of results) {
    const c = r.endpoints.create?.register;
    const goal = TARGETS.createRps[r.size];
    if (c && goal) verdicts.push({ target: `create ≥ ${goal} durable writes/s at ${fmtSize(r.size)}`, met: c.rps >= goal, detail: `${c.rps.toFixed(0)}/s (${c.cpuUsPerReq} µs CPU each${diskNote(r)})` });
    const m = r.endpoints['meter-point']?.register;
    const p99 = TARGETS.meterPointP99Ms[r.size];
    if (m && p99)
      verdicts.push({
        target: `meter-point p99 ≤ ${p99} ms at ${fmtSize(r.size)} (${opts.connections} connections)`,
        met: m.p99 <= p99,
        detail: `${m.p99.toFixed(2)} ms (1 connection: ${r.endpoints['meter-point'].single!.p99.toFixed(2)} ms${diskNote(r)})`,
      });
  }
  const hot = results.map((r) => ({ size: r.size, e: r.endpoints['meter-point-hot'] })).filter((x) => x.e?.register);
  if (hot.length > 0)
    verdicts.push({
      target: `hot meter point ≥ ${TARGETS.hotRatio} × a bare route serving the same body, at every size`,
      met: hot.every((x) => x.e.ratio! >= TARGETS.hotRatio),
      detail: hot.map((x) => `${fmtSize(x.size)} ${x.e.ratio!.toFixed(2)} × (${x.e.register!.rps.toFixed(0)} vs ${x.e.ceiling!.rps.toFixed(0)} req/s, ${Math.round(x.e.bodyBytes! / 1024)} KB)`).join(', '),
    });
  for (const n of ['exists', 'token-poll']) {
    const per = results.map((r) => ({ size: r.size, e: r.endpoints[n] })).filter((x) => x.e?.register);
    if (per.length === 0) continue;
    const worst = Math.max(...per.map((x) => x.e.register!.p99));
    verdicts.push({
      target: `${n} p99 ≤ ${TARGETS.p99Ms} ms at every size (${opts.connections} connections)`,
      met: worst <= TARGETS.p99Ms,
      detail: per.map((x) => `${fmtSize(x.size)} ${x.e.register!.p99.toFixed(2)} ms (1 connection: ${x.e.single!.p99.toFixed(2)} ms)`).join(', '),
    });
  }
  const logged = results.filter((r) => r.logCost);
  if (logged.length > 0)
    verdicts.push({
      target: `request log ≤ ${100 * TARGETS.logCost} % of a verify's register CPU at every size (log on against --log-level silent, three restarted registers a side, alternated; medians)`,
      met: logged.every((r) => r.logCost!.cost <= TARGETS.logCost),
      detail: logged.map((r) => `${fmtSize(r.size)} ${(100 * r.logCost!.cost).toFixed(0)} % (${r.logCost!.onUs.join(', ')} against ${r.logCost!.offUs.join(', ')} µs)`).join(', '),
    });
  const biggest = results[results.length - 1];
  verdicts.push({ target: `register start ≤ ${TARGETS.startMs} ms at ${fmtSize(biggest.size)} (compiled)`, met: biggest.startMs <= TARGETS.startMs, detail: `${biggest.startMs} ms (tsx: ${biggest.startMsTsx} ms)` });
  verdicts.push({
    target: `anonymous memory (RssAnon) ≤ ${TARGETS.rssAnonMb} MB at every size${opts.db ? ' (the node; PostgreSQL not counted)' : ''}`,
    met: results.every((r) => r.rssPeakAnonMb <= TARGETS.rssAnonMb),
    detail: results.map((r) => `${fmtSize(r.size)} ${r.rssPeakAnonMb.toFixed(0)} MB (+ ${r.rssPeakFileMb.toFixed(0)} MB file-backed)`).join(', '),
  });
  lines.push('', 'Targets:');
  for (const x of verdicts) lines.push(`  ${x.met ? 'MET   ' : 'MISSED'} ${x.target}: ${x.detail}`);
  return { table: lines.join('\n'), verdicts };
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  if (opts.data && opts.sizes.length !== 1) throw new Error('--data reuses one kept folder: give the one size it holds with --sizes');
  const startedAt = new Date();
  const machine = {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model,
    memGb: round(totalmem() / 1024 ** 3, 1),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
    loadavgAtStart: loadavg().map((x) => round(x)),
    // Decides whether the register maps its SQLite file (src/server/db/read-ahead.ts).
    sqliteReads: opts.db ? null : readPlan(opts.data ?? tmpdir()),
  };
  const plan = machine.sqliteReads;
  const reads = plan ? `; disk read-ahead ${plan.readAheadKb === null ? 'not shown' : `${plan.readAheadKb} KiB`}, so SQLite reads ${plan.mmapBytes > 0 ? 'through a memory map' : 'without a memory map (pread)'}` : '';
  process.stderr.write(
    `DAR register benchmark: sizes ${opts.sizes.map(fmtSize).join(', ')}, ${opts.duration} s per endpoint, ${opts.connections} connections\n` +
      `machine: ${machine.cpus} × ${machine.cpuModel}, ${machine.memGb} GiB, Node ${machine.node}, load average ${machine.loadavgAtStart.join(' ')}${reads}\n`,
  );
  const database = opts.db ? `PostgreSQL ${await serverVersion(opts.db)} at ${displayDb(opts.db)}` : 'SQLite';
  if (opts.db) process.stderr.write(`database: ${database} (emptied and loaded for each size)\n`);
  const compiled = await compileRegister(opts.outfile);
  const results: SizeResult[] = [];
  for (const size of opts.sizes) results.push(await runSize(size, opts, compiled));
  const { table, verdicts } = report(results, opts);
  const command = `npm run bench -- ${process.argv
    .slice(2)
    .map((a) => (/^postgres(ql)?:\/\//.test(a) ? displayDb(a) : a))
    .join(' ')}`.trim();
  process.stdout.write(
    `\n${command}\n${machine.cpus} cores (${machine.cpuModel}), ${machine.memGb} GiB, Node ${machine.node}; load average at start ${machine.loadavgAtStart.join(' ')}${reads}${opts.db ? `\ndatabase: ${database}` : ''}\n\n${table}\n`,
  );
  const outDir = join(ROOT, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  const file = join(outDir, `${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(
    file,
    JSON.stringify({ startedAt: startedAt.toISOString(), finishedAt: new Date().toISOString(), command, options: { ...opts, db: opts.db && displayDb(opts.db) }, database, machine, targets: TARGETS, verdicts, results }, null, 2),
  );
  process.stdout.write(`\nresults written to ${file}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).stack ?? err}\n`);
  process.exit(1);
});
