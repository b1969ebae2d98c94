#!/usr/bin/env node
// The project's test command: vitest (API and integration, in-process) on SQLite and, side by
// side, again on PostgreSQL, then Playwright (end-to-end in Chromium against the headless register). Prints
// one closing line with the combined counts and exits non-zero if anything failed.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { createInterface } from 'node:readline';

mkdirSync('test-results', { recursive: true });
const only = process.argv[2]; // 'unit' | 'e2e' | undefined (both)
let passed = 0;
let failed = 0;
let skipped = 0;
let broken = false;

function run(cmd, args, env = process.env) {
  const res = spawnSync(cmd, args, { stdio: 'inherit', env });
  return res.status ?? 1;
}

/** Adds a finished vitest pass's counts to the closing line. */
function countVitest(json, code) {
  if (existsSync(`test-results/${json}`)) {
    const r = JSON.parse(readFileSync(`test-results/${json}`, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    if (code !== 0 && r.numFailedTests === 0) broken = true;
  } else if (code !== 0) broken = true;
}

/**
 * Starts one vitest pass; resolves to its exit code. With a label, its output lines are
 * prefixed with it, so two passes can run side by side and stay readable.
 */
function startVitest(json, env, label) {
  rmSync(`test-results/${json}`, { force: true });
  const args = ['run', '--reporter=default', '--reporter=json', `--outputFile.json=test-results/${json}`];
  const child = spawn('node_modules/.bin/vitest', args, { stdio: label ? ['ignore', 'pipe', 'pipe'] : 'inherit', env });
  if (label) {
    for (const [from, to] of [
      [child.stdout, process.stdout],
      [child.stderr, process.stderr],
    ])
      createInterface({ input: from }).on('line', (line) => to.write(`[${label}] ${line}\n`));
  }
  return new Promise((resolve) => child.on('close', (code) => resolve(code ?? 1)));
}

// The same files again with every test register on PostgreSQL (vitest.config.ts lists the
// files that stay SQLite-only, and why), when PostgreSQL is installed; CI installs it.
const pgInstalled = existsSync('/usr/lib/postgresql') || process.env.DAR_TEST_PG_BIN;
const pgPass = only !== 'e2e' && process.env.DAR_TEST_DB !== 'postgres' && pgInstalled;
if (only !== 'e2e' && process.env.CI && !pgInstalled) {
  console.error('CI: PostgreSQL is not installed; the PostgreSQL pass cannot be skipped in CI');
  broken = true;
}

if (only !== 'e2e') {
  // Each pass runs one test file at a time (vitest uses cores − 1 workers), so on a small
  // machine the two passes side by side use the cores a pass leaves idle. The PostgreSQL pass
  // gets a test server of its own (port + 2; the SQLite pass's files that use PostgreSQL, and
  // the cluster tests after, keep the port and the one above it). DAR_TEST_SERIAL=1 runs them
  // one after the other.
  const basePort = Number(process.env.DAR_TEST_PG_PORT ?? 55432);
  const pgEnv = { ...process.env, DAR_TEST_DB: 'postgres', DAR_TEST_PG_PORT: String(basePort + 2) };
  if (pgPass && !process.env.DAR_TEST_SERIAL) {
    const [lite, pg] = await Promise.all([startVitest('vitest.json', process.env, 'sqlite'), startVitest('vitest-postgres.json', pgEnv, 'postgres')]);
    countVitest('vitest.json', lite);
    countVitest('vitest-postgres.json', pg);
  } else {
    countVitest('vitest.json', await startVitest('vitest.json', process.env));
    if (pgPass) countVitest('vitest-postgres.json', await startVitest('vitest-postgres.json', pgEnv));
  }
}

if (only !== 'unit') {
  const code = run('node_modules/.bin/playwright', ['test']);
  if (existsSync('test-results/playwright.json')) {
    const r = JSON.parse(readFileSync('test-results/playwright.json', 'utf8'));
    passed += r.stats.expected + (r.stats.flaky ?? 0);
    failed += r.stats.unexpected;
    skipped += r.stats.skipped;
    if (code !== 0 && r.stats.unexpected === 0) broken = true;
  } else if (code !== 0) broken = true;
}

console.log(`\n${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exit(failed > 0 || broken || passed === 0 ? 1 : 0);
