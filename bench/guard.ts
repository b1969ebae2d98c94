/**
 * `npm run bench:guard [-- --min 0.35 --rounds 4 --seconds 1.5 --data <kept 10k folder>]`
 *
 * The regression guard CI runs after the tests: a small benchmark (10k records, well under a
 * minute) that fails (exit 1) when verify (`GET /v1/access-records/{ak}`, the register in its
 * default configuration, request log included) answers fewer than `--min` × the requests per
 * second of the bare-Fastify ceiling serving the same body in the same run.
 *
 * Stability on a shared, noisy machine: the register and the ceiling are driven alternately,
 * in short slices (register, ceiling, register, ceiling, …), so both see the same weather,
 * and the guard judges the median pair: a real regression makes every pair worse, a burst of
 * other work on the machine only some. `--min` (0.35) sits well below what a healthy build
 * reads on the 2-core dev machine (see docs/performance.md for ten runs).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileRegister, cpuMsOf, drive, driveRegister, ROOT, round, scenarios, sleep, startCeiling, startRegister, sweptBacklog } from './harness.js';
import { bulkLoad, type Fixture } from './load.js';

interface Options {
  min: number;
  rounds: number;
  seconds: number;
  connections: number;
  data: string | null;
  registerArgs: string[];
  /** Node flags for the register (e.g. `--jitless`, to see the guard fail on a slow register). */
  nodeFlags: string[];
}

function parseOptions(argv: string[]): Options {
  const o: Options = { min: 0.35, rounds: 5, seconds: 1.5, connections: 10, data: null, registerArgs: [], nodeFlags: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--min') o.min = Number(value());
    else if (flag === '--rounds') o.rounds = Math.max(1, Number(value()));
    else if (flag === '--seconds') o.seconds = Number(value());
    else if (flag === '--connections') o.connections = Number(value());
    else if (flag === '--data') o.data = resolve(value());
    else if (flag === '--register-args') o.registerArgs = value().split(' ').filter(Boolean);
    else if (flag === '--node-flags') o.nodeFlags = value().split(' ').filter(Boolean);
    else if (flag === '--help') {
      process.stdout.write(
        'npm run bench:guard -- [--min <ratio, default 0.35>] [--rounds <pairs, default 5>] [--seconds <per slice, default 1.5>] [--connections <n, default 10>] [--data <folder kept by `npm run bench -- --sizes 10k --keep`>] [--register-args "<register flags>"] [--node-flags "<node flags for the register>"]\n',
      );
      process.exit(0);
    } else throw new Error(`unknown option ${flag} (see --help)`);
  }
  return o;
}

/** Waits (≤ 30 s) until process `pid` uses less than a tenth of a core over half a second. */
async function quiet(pid: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const before = cpuMsOf(pid);
    await sleep(500);
    if (cpuMsOf(pid) - before < 50 || Date.now() > deadline) return;
  }
}

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const t0 = performance.now();
  const load0 = loadavg();
  // Two folders below the repository, like the benchmark's, so the bundle finds the migrations.
  const compiled = await compileRegister(join(ROOT, 'out', 'bench-guard', 'cli.mjs'));
  const dir = opts.data ?? mkdtempSync(join(tmpdir(), 'dar-guard-'));
  let fixture: Fixture;
  if (opts.data) fixture = JSON.parse(readFileSync(join(dir, 'bench-fixture.json'), 'utf8')) as Fixture;
  else {
    fixture = await bulkLoad({ dataDir: dir, records: 10_000, dataUsers: 50, hotMeterPoints: 5, hotSize: 300, verifyAudit: false });
    // The first start after a bulk load builds planner statistics and sweeps the backlog.
    const first = await startRegister([process.execPath, compiled], dir);
    await sweptBacklog(join(dir, 'register.sqlite'));
    await first.stop();
  }
  const reg = await startRegister([process.execPath, ...opts.nodeFlags, compiled], dir, opts.registerArgs);
  let ceiling: Awaited<ReturnType<typeof startCeiling>> | null = null;
  try {
    const verify = scenarios(fixture, {}, { only: ['verify'], connections: opts.connections })[0];
    const sample = await fetch(`${reg.base}${verify.next().path}`);
    if (sample.status !== 200) throw new Error(`verify answered ${sample.status}: ${await sample.text()}`);
    const bodiesFile = join(dir, 'guard-bodies.json');
    writeFileSync(bodiesFile, JSON.stringify([await sample.json()]));
    ceiling = await startCeiling(bodiesFile);
    const bare = () => ({ path: '/c/0' });
    // After listen the register compiles its remaining route schemas in the background (~1 s of
    // CPU, several on a busy machine): measuring before that ends reads the compiler, not verify.
    await quiet(reg.child.pid!);
    await drive(reg.base, verify.next, 2, opts.connections); // warm-up (JIT), both sides
    await drive(ceiling.base, bare, 2, opts.connections);
    const pairs: { register: number; ceiling: number; ratio: number; cpuUsPerReq: number }[] = [];
    for (let i = 0; i < opts.rounds; i++) {
      const r = await driveRegister(reg.child.pid!, reg.base, verify.next, opts.seconds, opts.connections);
      const c = await drive(ceiling.base, bare, opts.seconds, opts.connections);
      if (r.non2xx || r.errors) throw new Error(`verify: ${r.non2xx} non-2xx answers, ${r.errors} errors (${JSON.stringify(r.statusCodes)})`);
      pairs.push({ register: Math.round(r.rps), ceiling: Math.round(c.rps), ratio: round(r.rps / c.rps), cpuUsPerReq: r.cpuUsPerReq! });
    }
    const ratio = [...pairs].sort((a, b) => a.ratio - b.ratio)[Math.floor(pairs.length / 2)].ratio;
    const pass = ratio >= opts.min;
    process.stdout.write(
      `bench:guard verify ${ratio.toFixed(2)} × ceiling (median of ${pairs.length} pairs: ${pairs.map((p) => `${p.register}/${p.ceiling} = ${p.ratio.toFixed(2)}`).join(', ')}; register CPU ${pairs.map((p) => p.cpuUsPerReq).join(', ')} µs/req); ` +
        `minimum ${opts.min}; load average ${load0.map((x) => x.toFixed(2)).join(' ')} → ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')}; ${((performance.now() - t0) / 1000).toFixed(0)} s: ${pass ? 'PASS' : 'FAIL'}\n`,
    );
    process.exitCode = pass ? 0 : 1;
  } finally {
    ceiling?.child.kill('SIGTERM');
    await reg.stop();
    if (!opts.data) rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  process.stderr.write(`bench:guard failed: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
