#!/usr/bin/env node
// The project's test command: vitest (API and integration, in-process) on SQLite, vitest again
// on PostgreSQL, then Playwright (end-to-end in Chromium against the headless register). Prints
// one closing line with the combined counts and exits non-zero if anything failed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';

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

/** One vitest pass; its counts go into the closing line. */
function vitestPass(json, env = process.env) {
  const code = run('node_modules/.bin/vitest', ['run', '--reporter=default', '--reporter=json', `--outputFile.json=test-results/${json}`], env);
  if (existsSync(`test-results/${json}`)) {
    const r = JSON.parse(readFileSync(`test-results/${json}`, 'utf8'));
    passed += r.numPassedTests;
    failed += r.numFailedTests;
    skipped += r.numPendingTests + (r.numTodoTests ?? 0);
    if (code !== 0 && r.numFailedTests === 0) broken = true;
  } else if (code !== 0) broken = true;
}

if (only !== 'e2e') vitestPass('vitest.json');

// The same files again with every test register on PostgreSQL (vitest.config.ts lists the
// files that stay SQLite-only, and why), when PostgreSQL is installed; CI installs it.
const pgInstalled = existsSync('/usr/lib/postgresql') || process.env.DAR_TEST_PG_BIN;
if (only !== 'e2e' && process.env.DAR_TEST_DB !== 'postgres' && pgInstalled) {
  vitestPass('vitest-postgres.json', { ...process.env, DAR_TEST_DB: 'postgres' });
} else if (only !== 'e2e' && process.env.CI && !pgInstalled) {
  console.error('CI: PostgreSQL is not installed; the PostgreSQL pass cannot be skipped in CI');
  broken = true;
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
