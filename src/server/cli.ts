/**
 * The headless register: `npm run register -- [--port 5001] [--data ./data] [--seed demo] …`.
 * Runs under plain Node (no Electron). Exits non-zero with a clear message on any start-up failure.
 */
import { setFlagsFromString } from 'node:v8';
import { parseArgs, usage, UsageError } from './config.js';
import { stdoutLogDestination } from './http/log-format.js';
import { createRegister, StartupError, type RunningRegister } from './start.js';

/**
 * Memory (docs/performance.md): after each full GC, V8 lets the old generation grow to 1.1–4× the live heap
 * before the next one, choosing large factors when the machine has memory to spare. Under
 * sustained load the register (~35 MB live) then carried 60–100 MB of garbage between full
 * GCs: RSS peaks of 250–300 MB. A fixed 1.5× keeps those peaks 40–80 MB lower for more
 * frequent, mostly concurrent, full GCs; interleaved A/B runs (verify, listings, the 240 KB hot
 * listing, at 1 M records) showed no difference in req/s beyond the machine's run-to-run noise.
 * Set here at run time, so it holds however the register is launched (node, tsx). (The young
 * generation's size can only be set on the command line, so it is left at V8's default.)
 */
setFlagsFromString('--heap-growing-percent=50');

async function main(): Promise<void> {
  if (process.argv[2] === 'keys') {
    const { runKeysCommand } = await import('./keys-cli.js');
    process.exit(runKeysCommand(process.argv.slice(3)));
  }
  if (process.argv[2] === 'migrate') {
    const { runMigrateCommand } = await import('./migrate-cli.js');
    process.exit(await runMigrateCommand(process.argv.slice(3)));
  }
  let config;
  try {
    config = parseArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`register: ${err.message}\n\n${usage()}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (config === 'help') {
    process.stdout.write(`${usage()}\n`);
    return;
  }

  // Signal handlers go in before anything starts, so a SIGTERM that arrives while the
  // register is still starting (or just after it printed its URL) still stops it cleanly.
  let running: RunningRegister | undefined;
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stdout.write(`\nregister: ${signal} received, shutting down…\n`);
    const timer = setTimeout(() => {
      process.stderr.write('register: shutdown took too long; exiting\n');
      process.exit(1);
    }, 10_000);
    timer.unref();
    try {
      await running?.close();
    } catch (err) {
      process.stderr.write(`register: error while stopping: ${(err as Error).message}\n`);
      process.exit(1);
    }
    process.stdout.write('register: stopped cleanly\n');
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const started = Date.now();
  try {
    const logger = config.logLevel === 'silent' ? false : { level: config.logLevel, stream: stdoutLogDestination(config.logFormat) };
    running = await createRegister(config, logger);
    if (stopping) return; // a signal came while opening the database; stop() closes it
    const url = await running.listen();
    const ms = Date.now() - started;
    const lines = [
      '',
      `DAR register (${config.mode}) listening on ${url}   [started in ${ms} ms]`,
      `  API docs   ${url}/docs      (OpenAPI: ${url}/v1/openapi.json; every route is under ${url}/v1/)`,
      `  Console    ${url}/console/`,
      `  Portal     ${url}/portal`,
      `  Data       ${config.dataDir ?? '(in memory)'}`,
      ...(running.storageNote ? [`             ${running.storageNote}`] : []),
      `  E-mail     ${config.smtpUrl ? `captured in the outbox and sent via ${new URL(config.smtpUrl).host}` : 'captured in the outbox (GET /v1/admin/outbox)'}`,
    ];
    if (running.demo) {
      lines.push('', `Demo data loaded. Customer meter point ${running.demo.mpxn}. Demo credentials (demo values only):`);
      for (const a of running.demo.accounts) lines.push(`  ${a.accountId.padEnd(18)} ${a.role.padEnd(14)} ${a.secret}`);
    }
    process.stdout.write(`${lines.join('\n')}\n\n`);
  } catch (err) {
    if (err instanceof StartupError) {
      process.stderr.write(`register: ${err.message}\n`);
      process.exit(1);
    }
    process.stderr.write(`register: failed to start: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  }
}

void main();
