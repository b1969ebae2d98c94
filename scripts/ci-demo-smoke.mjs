#!/usr/bin/env node
// CI check of the README's second command: `npm run demo` starts the register with the demo
// data, prints its URLs, serves the built console and the portal, and stops cleanly on Ctrl-C.
// `--port 0` (any free port) is appended so a busy 5001 on the CI machine cannot fail it.
import { spawn } from 'node:child_process';

const TIMEOUT_MS = 120_000;
const child = spawn('npm', ['run', 'demo', '--', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
let out = '';
child.stdout.on('data', (d) => {
  out += d;
  process.stdout.write(d);
});
child.stderr.on('data', (d) => process.stderr.write(d));
const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));

function fail(message) {
  console.error(`demo smoke: ${message}`);
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  process.exit(1);
}
const timer = setTimeout(() => fail(`no answer within ${TIMEOUT_MS / 1000} s`), TIMEOUT_MS);

async function waitFor(predicate, what) {
  for (;;) {
    const v = await predicate();
    if (v) return v;
    if (child.exitCode !== null) fail(`the register exited (${child.exitCode}) before ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const url = await waitFor(() => /listening on (http:\/\/\S+)/.exec(out)?.[1], 'printing its URL');
await waitFor(() => /Demo data loaded/.test(out), 'loading the demo data');
await waitFor(async () => (await fetch(`${url}/ready`).catch(() => null))?.status === 200, 'answering /ready');
for (const path of ['/console/', '/portal']) {
  const res = await fetch(`${url}${path}`);
  const body = await res.text();
  if (res.status !== 200 || !/<html/i.test(body)) fail(`${path} answered ${res.status}: ${body.slice(0, 200)}`);
  console.log(`demo smoke: ${path} 200`);
}
// Ctrl-C in a terminal: SIGINT to the whole foreground group (npm, its shell, the register).
// npm itself may die of the signal; what counts is that the register shut down cleanly.
process.kill(-child.pid, 'SIGINT');
const { code, signal } = await exited;
clearTimeout(timer);
if (!/stopped cleanly/.test(out)) fail(`the register did not report a clean stop (npm exit ${code}, signal ${signal})`);
console.log('demo smoke: ok');
