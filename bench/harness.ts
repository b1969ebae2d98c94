/**
 * What the benchmarks share (bench/run.ts, bench/ab.ts): compiling the register, starting it
 * on a data folder, driving an endpoint with autocannon, reading a process's CPU time and RSS
 * from /proc, and the endpoint scenarios themselves.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, fdatasyncSync, fsyncSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import Database from 'better-sqlite3';
import { build } from 'esbuild';
import type { Fixture } from './load.js';

export const ROOT = resolve(import.meta.dirname, '..');

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/**
 * RSS of a process, and its two parts: anonymous memory (V8 heap, Buffers, SQLite's page
 * cache, scrypt's working memory) and file-backed pages (mostly the node binary, ~40 MB).
 */
export function rssOf(pid: number): { rssMb: number; hwmMb: number; anonMb: number; fileMb: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
  return { rssMb: kb('VmRSS') / 1024, hwmMb: kb('VmHWM') / 1024, anonMb: kb('RssAnon') / 1024, fileMb: kb('RssFile') / 1024 };
}

/** User + system CPU time of a process so far (10 ms clock ticks), from /proc. */
export function cpuMsOf(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/**
 * Bytes a process (all its threads) has made the kernel read from and write to storage so far,
 * from /proc/<pid>/io. A read served by the page cache is not counted, so `readBytes` shows
 * the pages that really came from the disk.
 */
export function ioOf(pid: number): { readBytes: number; writeBytes: number } {
  const io = readFileSync(`/proc/${pid}/io`, 'utf8');
  const value = (key: string) => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(io)?.[1] ?? 0);
  return { readBytes: value('read_bytes'), writeBytes: value('write_bytes') };
}

/**
 * How long the disk under `dir` takes to make a small write durable: a scratch file of `count`
 * 4 KiB pages is written and synced once, then each page is written over and fdatasynced, as
 * the group commit syncs the WAL (src/server/db/group-commit.ts), which SQLite writes over in
 * place after each reset instead of growing it. Every durable write and every audited listing
 * waits for at least one such sync before it is answered, so this is about the least their
 * latency can be on this disk; it differs a lot between machines (docs/performance.md "Latest
 * numbers"). Returns milliseconds: median, 99th percentile and the slowest.
 */
export function diskSyncMs(dir: string, count = 200): { p50: number; p99: number; max: number } {
  const file = join(dir, `disk-sync-probe-${process.pid}`);
  const fd = openSync(file, 'w');
  const page = Buffer.alloc(4096, 0x61);
  const times = new Float64Array(count);
  try {
    for (let i = 0; i < count; i++) writeSync(fd, page);
    fsyncSync(fd);
    for (let i = 0; i < count; i++) {
      writeSync(fd, page, 0, page.length, i * page.length);
      const t0 = performance.now();
      fdatasyncSync(fd);
      times[i] = performance.now() - t0;
    }
  } finally {
    closeSync(fd);
    rmSync(file, { force: true });
  }
  times.sort();
  return { p50: round(percentile(times, 50)), p99: round(percentile(times, 99)), max: round(times[count - 1]) };
}

export function fileMb(path: string): number {
  return existsSync(path) ? statSync(path).size / 1024 / 1024 : 0;
}

export function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

export const round = (n: number, d = 2) => Math.round(n * 10 ** d) / 10 ** d;

/**
 * Builds the compiled register once: out/bench/cli.mjs, one esbuild bundle of src/server/cli.ts
 * with its dependencies (PROJECT_ROOT still resolves to the repo from out/bench/). Left outside
 * the bundle: the native better-sqlite3 addon and the two packages that serve files from their
 * own folders at run time (@fastify/static, @fastify/swagger-ui).
 */
export async function compileRegister(outfile: string, root = ROOT): Promise<string> {
  await build({
    entryPoints: [join(root, 'src', 'server', 'cli.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['better-sqlite3', '@fastify/static', '@fastify/swagger-ui', 'electron'],
    // CommonJS dependencies inside an ESM bundle still call require().
    banner: { js: "import { createRequire as __darCreateRequire } from 'node:module'; const require = __darCreateRequire(import.meta.url);" },
    sourcemap: false,
    logLevel: 'error',
  });
  return outfile;
}

export interface Running {
  child: ChildProcess;
  port: number;
  base: string;
  startMs: number;
  /** CPU time the register used until its first answer: unlike wall time, barely moved by other load on the machine. */
  startCpuMs: number;
  /** Where its stdout (the request log) goes. */
  logFile: string;
  stop(): Promise<void>;
}

/**
 * Spawns the register and polls until it answers HTTP; start time = spawn → first response.
 *
 * It runs with its DEFAULT configuration, request logging included (one JSON line per request
 * at `info`, as a deployment runs it): that is what users run, so that is what is measured.
 * Its stdout goes to `<data folder>/register.log` (a file, as a service manager would keep it),
 * not through a pipe into the benchmark, which shares the two cores. `extraArgs` adds register
 * flags, e.g. `--log-level silent` to see what logging costs.
 */
export async function startRegister(command: string[], dataDir: string, extraArgs: string[] = []): Promise<Running> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const logFile = join(dataDir, 'register.log');
  const logFd = openSync(logFile, 'w');
  const t0 = performance.now();
  const child = spawn(command[0], [...command.slice(1), '--data', dataDir, '--port', String(port), ...extraArgs], { stdio: ['ignore', logFd, 'pipe'] });
  closeSync(logFd);
  let output = '';
  child.stderr!.on('data', (c: Buffer) => (output += c.toString()));
  let exited = false;
  child.on('exit', () => (exited = true));
  const tail = () => `${output}${readFileSync(logFile, 'utf8').slice(-4000)}`;
  for (;;) {
    if (exited) throw new Error(`register exited during start:\n${tail()}`);
    try {
      const res = await fetch(`${base}/v1/access-records/ak_000000000000000000000000`);
      await res.arrayBuffer();
      break;
    } catch {
      await sleep(2);
    }
    if (performance.now() - t0 > 60_000) throw new Error(`register did not answer within 60 s:\n${tail()}`);
  }
  const startMs = performance.now() - t0;
  return {
    child,
    port,
    base,
    startMs,
    startCpuMs: cpuMsOf(child.pid!),
    logFile,
    stop: () =>
      new Promise<void>((res) => {
        if (exited) return res();
        child.once('exit', () => res());
        child.kill('SIGTERM');
      }),
  };
}

/** Waits (≤ 5 min) until no ACTIVE record is past its expiry and no DISCOVERED row is older than 180 days. */
export async function sweptBacklog(dbFile: string): Promise<void> {
  const db = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    const left = db.prepare(
      `select (select count(*) from access_records where state = 'ACTIVE' and expires_at <= ?)
            + (select count(*) from access_records where state = 'DISCOVERED' and coalesce(last_seen, first_seen) < ?) as n`,
    );
    const deadline = Date.now() + 300_000;
    for (;;) {
      const now = new Date();
      const n = (left.get(now.toISOString(), new Date(now.getTime() - 180 * 86_400_000).toISOString()) as { n: number }).n;
      if (n === 0 || Date.now() > deadline) return;
      await sleep(250);
    }
  } finally {
    db.close();
  }
}

/** Starts the bare-Fastify ceiling (bench/ceiling.ts) serving the bodies in `bodiesFile`. */
export async function startCeiling(bodiesFile: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), [join(ROOT, 'bench', 'ceiling.ts'), bodiesFile], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /port (\d+)/.exec(out);
      if (m) res(Number(m[1]));
    });
    child.on('exit', (code) => rej(new Error(`ceiling server exited ${code}`)));
  });
  return { child, base: `http://127.0.0.1:${port}` };
}

export interface Measured {
  requests: number;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  non2xx: number;
  errors: number;
  statusCodes: Record<string, number>;
  /** Register CPU (user + system, all threads) per request during the 10-connection run, µs. */
  cpuUsPerReq?: number;
  /** Storage reads (page-cache misses) and writes (WAL, checkpoints) per request, KiB. */
  diskReadKiBPerReq?: number;
  diskWriteKiBPerReq?: number;
}

export type Req = { method?: string; path: string; headers?: Record<string, string>; body?: string };

/** `drive`, plus what the register process `pid` spent per request meanwhile: CPU and storage I/O. */
export async function driveRegister(pid: number, base: string, next: () => Req, seconds: number, connections: number): Promise<Measured> {
  const cpu0 = cpuMsOf(pid);
  const io0 = ioOf(pid);
  const m = await drive(base, next, seconds, connections);
  const io1 = ioOf(pid);
  const n = Math.max(1, m.requests + m.non2xx);
  m.cpuUsPerReq = Math.round((1000 * (cpuMsOf(pid) - cpu0)) / n);
  m.diskReadKiBPerReq = round((io1.readBytes - io0.readBytes) / 1024 / n, 1);
  m.diskWriteKiBPerReq = round((io1.writeBytes - io0.writeBytes) / 1024 / n, 1);
  return m;
}

/** One autocannon run; latencies are collected per response at sub-millisecond precision. */
export async function drive(base: string, next: () => Req, seconds: number, connections: number): Promise<Measured> {
  const latencies: number[] = [];
  const statusCodes: Record<string, number> = {};
  const first = next();
  const instance = autocannon({
    url: base,
    connections,
    duration: seconds,
    requests: [
      {
        method: (first.method ?? 'GET') as 'GET',
        path: first.path,
        setupRequest: (req: Record<string, unknown>) => {
          const r = next();
          req.method = r.method ?? 'GET';
          req.path = r.path;
          req.headers = { ...(r.headers ?? {}), ...(r.body ? { 'content-type': 'application/json' } : {}) };
          req.body = r.body;
          return req;
        },
      },
    ],
  });
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
    statusCodes[statusCode] = (statusCodes[statusCode] ?? 0) + 1;
    if (statusCode >= 200 && statusCode < 300) latencies.push(responseTime);
  });
  const result = await instance;
  const sorted = Float64Array.from(latencies).sort();
  const non2xx = Object.entries(statusCodes).reduce((n, [code, c]) => (code.startsWith('2') ? n : n + c), 0);
  return {
    requests: latencies.length,
    rps: latencies.length / seconds,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length ? sorted[sorted.length - 1] : NaN,
    non2xx,
    errors: result.errors + result.timeouts,
    statusCodes,
  };
}

export interface Scenario {
  name: string;
  label: string;
  /** Request generator for this size (random per call). */
  next: () => Req;
  connections?: number;
  /** Set when the endpoint does not exist yet on this register. */
  pending?: string;
}

export function scenarios(f: Fixture, tokens: Record<string, string>, opts: { only: string[] | null; connections: number }): Scenario[] {
  const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)];
  const bearer = (t: string) => ({ authorization: `Bearer ${t}` });
  const basic = { authorization: `Basic ${Buffer.from(`${f.du.accountId}:${f.du.secret}`).toString('base64')}` };
  const createBody = (ir: string) =>
    JSON.stringify({
      'record-metadata': {
        'schema-version': '1.0',
        'identity-record-ref': ir,
        'controller-arrangement': {
          'arrangement-type': 'sole',
          controllers: [{ name: 'Bench Energy 0 Ltd', role: 'sole', 'contact-url': 'https://bench-energy-0.example/contact', 'privacy-rights-url': 'https://bench-energy-0.example/privacy' }],
        },
      },
      notice: { 'shared-notice': { 'terms-url': 'https://bench-energy-0.example/terms', 'notice-version': '2.1' } },
      processing: { 'legal-basis': 'uk-consent', purpose: 'Benchmark: tariff optimisation', 'data-types': ['HH-CONSUMPTION', 'TARIFF-IMPORT'] },
      'access-event': { state: 'ACTIVE', 'registered-at': '2026-03-24T09:00:00Z', expiry: '2027-03-24', consent: { 'consent-type': 'expressed-consent', method: 'online-form' } },
    });
  const duSeqs = f.duSeqs;
  return [
    { name: 'verify', label: 'GET /access-records/{ak} (verify, no auth)', next: () => ({ path: `/v1/access-records/${pick(f.sampleAks)}` }) },
    { name: 'meter-point', label: 'GET /meter-points/{mpxn}/access-records', next: () => ({ path: `/v1/meter-points/${pick(f.normalMpxns)}/access-records`, headers: bearer(tokens.du) }) },
    { name: 'meter-point-hot', label: `GET /meter-points/{hot}/access-records`, next: () => ({ path: `/v1/meter-points/${pick(f.hotMpxns)}/access-records`, headers: bearer(tokens.du) }) },
    { name: 'exists', label: 'GET /identity-records/exists?mpxn=', next: () => ({ path: `/v1/identity-records/exists?mpxn=${pick(f.existsMpxns)}`, headers: bearer(tokens.du) }) },
    { name: 'token-poll', label: 'GET /identity-records/reidentify/{tokenRef}', next: () => ({ path: `/v1/identity-records/reidentify/${pick(f.tokenRefs)}`, headers: bearer(tokens.du) }) },
    {
      name: 'records-page',
      label: 'GET /records?limit=50&cursor= (paging)',
      next: () => {
        const seq = duSeqs[Math.floor(Math.random() * duSeqs.length)];
        return { path: Math.random() < 0.1 ? '/v1/records?limit=50' : `/v1/records?limit=50&cursor=${seq}`, headers: bearer(tokens.du) };
      },
    },
    { name: 'create', label: 'POST /access-records (durable write)', next: () => ({ method: 'POST', path: '/v1/access-records', headers: bearer(tokens.du), body: createBody(pick(f.ownIrs)) }) },
    { name: 'auth-token', label: 'GET /auth/token (scrypt N=2^15)', next: () => ({ path: '/v1/auth/token', headers: basic }), connections: Math.min(opts.connections, 4) },
  ].filter((s) => !opts.only || opts.only.includes(s.name));
}

/** Signs an account in (HTTP Basic) and returns its bearer token. */
export async function login(base: string, a: { accountId: string; secret: string }): Promise<string> {
  const res = await fetch(`${base}/v1/auth/token`, { headers: { authorization: `Basic ${Buffer.from(`${a.accountId}:${a.secret}`).toString('base64')}` } });
  if (res.status !== 200) throw new Error(`login ${a.accountId}: ${res.status} ${await res.text()}`);
  return ((await res.json()) as { 'bearer-token': string })['bearer-token'];
}
