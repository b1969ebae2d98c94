/**
 * `npm run bench:ab -- --base <git revision> --data <kept folder> [--only verify,meter-point]`
 *
 * Old code against new on the same data: compiles the register at `--base` (a git worktree
 * that borrows this checkout's node_modules) and from the working tree, then runs each on a
 * fresh copy of one kept data folder (`npm run bench -- --sizes 100k --keep` prints where it
 * is), alternating A B, B A, … for `--rounds`. Whole benchmark runs on this shared 2-core
 * machine move by ±30 % from one hour to the next; alternating two builds minutes apart on
 * the same folder and reading the register's CPU time per request is what tells a code
 * change from the weather. Both builds must accept the folder's schema (use revisions without
 * a migration between them, or a folder loaded by the older one).
 *
 * Prints, per endpoint, CPU µs per request and req/s for every run of A and B, and the change
 * of the medians; writes bench/results/ab-<timestamp>.json (not committed).
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { compileRegister, drive, driveRegister, login, ROOT, scenarios, sleep, startRegister } from './harness.js';
import type { Fixture } from './load.js';

/** A wrong command line: said in one line, without a stack trace. */
class UsageError extends Error {}

interface Options {
  base: string;
  data: string;
  only: string[] | null;
  duration: number;
  connections: number;
  rounds: number;
}

function parseOptions(argv: string[]): Options {
  const o: Options = { base: '', data: '', only: ['verify', 'meter-point', 'exists', 'records-page', 'create'], duration: 5, connections: 10, rounds: 2 };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => inline ?? argv[++i];
    if (flag === '--base') o.base = value();
    else if (flag === '--data') o.data = resolve(value());
    else if (flag === '--only') o.only = value().split(',');
    else if (flag === '--duration') o.duration = Number(value());
    else if (flag === '--connections') o.connections = Number(value());
    else if (flag === '--rounds') o.rounds = Math.max(1, Number(value()));
    else if (flag === '--help') {
      process.stdout.write('npm run bench:ab -- --base <git revision> --data <folder kept by `npm run bench -- --keep`> [--only verify,meter-point,…] [--duration <s, default 5>] [--connections <n, default 10>] [--rounds <n, default 2>]\n');
      process.exit(0);
    } else throw new UsageError(`unknown option ${flag} (see --help)`);
  }
  if (!o.base) throw new UsageError('--base <git revision> is required (the code to compare the working tree with)');
  if (!o.data || !existsSync(join(o.data, 'bench-fixture.json'))) throw new UsageError('--data must be a folder kept by `npm run bench -- --sizes <size> --keep` (it holds bench-fixture.json)');
  return o;
}

/** The register at `rev`, compiled: a detached worktree using this checkout's node_modules. */
async function compileRevision(rev: string, workdir: string): Promise<{ label: string; compiled: string }> {
  let sha: string;
  try {
    sha = execFileSync('git', ['rev-parse', '--short', '--verify', `${rev}^{commit}`], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    throw new UsageError(`--base ${rev} is not a commit in this repository`);
  }
  const tree = join(workdir, `tree-${sha}`);
  execFileSync('git', ['worktree', 'add', '--detach', '--force', tree, sha], { cwd: ROOT, stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(tree, 'node_modules'), 'dir');
  // Two folders below the tree, so the bundle finds that revision's migrations (see compileRegister).
  return { label: sha, compiled: await compileRegister(join(tree, 'out', 'bench', 'cli.mjs'), tree) };
}

interface Run {
  side: 'A' | 'B';
  round: number;
  endpoints: Record<string, { cpuUsPerReq: number; rps: number; p99: number; non2xx: number; diskReadKiBPerReq: number; diskWriteKiBPerReq: number }>;
}

async function measure(side: 'A' | 'B', round: number, compiled: string, opts: Options, fixture: Fixture, workdir: string): Promise<Run> {
  // A fresh copy for every run, so creates in one run do not change what the next one reads.
  const dir = join(workdir, `data-${side}-${round}`);
  cpSync(opts.data, dir, { recursive: true });
  const reg = await startRegister([process.execPath, compiled], dir);
  try {
    await sleep(3000); // the remaining route schemas compile in the background after listen
    const tokens = { du: await login(reg.base, fixture.du) };
    const run: Run = { side, round, endpoints: {} };
    for (const s of scenarios(fixture, tokens, opts)) {
      const conns = s.connections ?? opts.connections;
      await drive(reg.base, s.next, 1, conns); // warm-up
      const m = await driveRegister(reg.child.pid!, reg.base, s.next, opts.duration, conns);
      const cpuUsPerReq = m.cpuUsPerReq!;
      run.endpoints[s.name] = { cpuUsPerReq, rps: Math.round(m.rps), p99: Math.round(m.p99 * 100) / 100, non2xx: m.non2xx, diskReadKiBPerReq: m.diskReadKiBPerReq!, diskWriteKiBPerReq: m.diskWriteKiBPerReq! };
      process.stderr.write(
        `  ${side} round ${round}  ${s.name.padEnd(16)} ${String(cpuUsPerReq).padStart(6)} µs/req  ${String(Math.round(m.rps)).padStart(6)} req/s  p99 ${m.p99.toFixed(2)} ms  disk read ${m.diskReadKiBPerReq} / written ${m.diskWriteKiBPerReq} KiB/req${m.non2xx ? `  non-2xx ${m.non2xx}` : ''}\n`,
      );
    }
    return run;
  } finally {
    await reg.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function main() {
  const opts = parseOptions(process.argv.slice(2));
  const fixture = JSON.parse(readFileSync(join(opts.data, 'bench-fixture.json'), 'utf8')) as Fixture;
  const workdir = mkdtempSync(join(tmpdir(), 'dar-ab-'));
  const started = new Date();
  try {
    process.stderr.write(`compiling A (${opts.base}) and B (working tree)…\n`);
    const a = await compileRevision(opts.base, workdir);
    const b = { label: 'working tree', compiled: await compileRegister(join(ROOT, 'out', 'bench-ab', 'cli.mjs')) };
    const runs: Run[] = [];
    for (let round = 1; round <= opts.rounds; round++) {
      const order: ('A' | 'B')[] = round % 2 ? ['A', 'B'] : ['B', 'A'];
      for (const side of order) runs.push(await measure(side, round, side === 'A' ? a.compiled : b.compiled, opts, fixture, workdir));
    }

    const names = Object.keys(runs[0].endpoints);
    const lines = [
      `npm run bench:ab -- --base ${opts.base} --data ${opts.data} (A = ${a.label}, B = ${b.label}; ${opts.rounds} rounds, ${opts.duration} s per endpoint at ${opts.connections} connections)`,
      '',
      '| endpoint | A: CPU µs/req | B: CPU µs/req | change (medians) | A: req/s | B: req/s |',
      '|---|---:|---:|---:|---:|---:|',
    ];
    const summary: Record<string, { a: number; b: number; change: number }> = {};
    for (const n of names) {
      const of = (side: 'A' | 'B', key: 'cpuUsPerReq' | 'rps') => runs.filter((r) => r.side === side).map((r) => r.endpoints[n][key]);
      const [ca, cb] = [of('A', 'cpuUsPerReq'), of('B', 'cpuUsPerReq')];
      const change = median(cb) / median(ca) - 1;
      summary[n] = { a: median(ca), b: median(cb), change };
      lines.push(`| ${n} | ${ca.join(', ')} | ${cb.join(', ')} | ${change >= 0 ? '+' : ''}${(100 * change).toFixed(0)} % | ${of('A', 'rps').join(', ')} | ${of('B', 'rps').join(', ')} |`);
    }
    process.stdout.write(`\n${lines.join('\n')}\n`);
    const outDir = join(ROOT, 'bench', 'results');
    mkdirSync(outDir, { recursive: true });
    const file = join(outDir, `ab-${started.toISOString().replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, JSON.stringify({ startedAt: started.toISOString(), finishedAt: new Date().toISOString(), options: opts, a: a.label, b: b.label, loadavg: loadavg(), runs, summary }, null, 2));
    process.stdout.write(`\nresults written to ${file}\n`);
  } finally {
    rmSync(workdir, { recursive: true, force: true });
    execFileSync('git', ['worktree', 'prune'], { cwd: ROOT, stdio: 'ignore' });
  }
}

main().catch((err) => {
  process.stderr.write(err instanceof UsageError ? `bench:ab: ${err.message}\n` : `${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
