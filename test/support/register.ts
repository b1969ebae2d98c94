import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, type RegisterConfig } from '../../src/server/config.js';
import { writeNewKeyFile } from '../../src/server/lib/keys.js';
import { testDatabase } from './postgres.js';
import { createRegister, type RunningRegister } from '../../src/server/start.js';
import { DEMO_ACCOUNTS, seedDemo } from '../../src/server/seed/demo.js';
import { afterAll, beforeAll, expect } from 'vitest';
import { DbProbe } from './db-probe.js';
import { startSmtpSink, type SmtpSink } from './smtp-sink.js';

export interface TestRegister extends RunningRegister {
  /** Bearer token for an account (cached per account). */
  token(accountId: string, secret?: string): Promise<string>;
  /** `inject` with a bearer token for `as` (an account id; demo secrets are known). */
  call(as: string | null, method: string, url: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Record<string, unknown> }>;
  /** Direct reads of the database, for what the API does not show (see db-probe.ts). */
  readonly probe: DbProbe;
}

/** Demo account secrets, from the seed itself (demo values only). */
export const DEMO_SECRETS: Record<string, string> = Object.fromEntries(DEMO_ACCOUNTS.map((a) => [a.accountId, a.secret]));

/** The engine the tests run on: DAR_TEST_DB=postgres, or SQLite (the default). */
export const TEST_ENGINE: 'sqlite' | 'postgres' = process.env.DAR_TEST_DB === 'postgres' ? 'postgres' : 'sqlite';

/**
 * A new key file in a temporary folder of its own, as each node of a deployment is given one;
 * `remove` deletes the folder (when the test register closes).
 */
function newKeyFile(): { keysFile: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'dar-test-keys-'));
  const keysFile = join(dir, 'register.keys.json');
  writeNewKeyFile(keysFile);
  return { keysFile, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * On PostgreSQL (DAR_TEST_DB=postgres) every test register gets a database of its own, cloned
 * from the migrated template (test/support/postgres.ts), and a key file, as a node would; a test
 * that asks for a data folder (a SQLite file) keeps it. A test that names its database gets a
 * key file too, unless it gives one.
 */
async function engineOverrides(overrides: Partial<RegisterConfig>): Promise<Partial<RegisterConfig> & { cleanUp?: () => Promise<void> }> {
  if ('databaseUrl' in overrides) {
    if (!overrides.databaseUrl || overrides.keysFile) return {};
    const keys = newKeyFile();
    return { keysFile: keys.keysFile, cleanUp: async () => keys.remove() };
  }
  if (TEST_ENGINE !== 'postgres' || overrides.dataDir) return {};
  const d = await testDatabase('register');
  const keys = newKeyFile();
  return {
    databaseUrl: d.url,
    keysFile: keys.keysFile,
    cleanUp: async () => {
      keys.remove();
      await d.drop();
    },
  };
}

/**
 * A register on an in-memory database (or, with DAR_TEST_DB=postgres, a database of its own) with the real migrations, no listening socket
 * (tests use inject) and no background workers unless asked. Seeds the demo data by default.
 */
export async function testRegister(overrides: Partial<RegisterConfig> = {}, opts: { seed?: boolean; logger?: object } = {}): Promise<TestRegister> {
  const { cleanUp, ...engine } = await engineOverrides(overrides);
  const config = defaultConfig({ dataDir: null, port: 5001, workers: false, consoleDir: null, ...overrides, ...engine });
  let running: TestRegister;
  try {
    running = (await createRegister(config, opts.logger ?? false)) as TestRegister;
  } catch (err) {
    // A register that refuses to start (a test of that) leaves no database or key file behind.
    await cleanUp?.();
    throw err;
  }
  const close = running.close.bind(running);
  running.close = async () => {
    await close();
    await cleanUp?.();
  };
  if (opts.seed !== false) running.demo = await seedDemo(running.reg, running.svc);
  // Read through the register's current handle each time.
  Object.defineProperty(running, 'probe', { get: () => DbProbe.of(running.reg) });
  const tokens = new Map<string, string>();
  running.token = async (accountId, secret) => {
    const key = `${accountId}:${secret ?? ''}`;
    if (!tokens.has(key)) {
      const res = await running.app.inject({
        method: 'GET',
        url: '/v1/auth/token',
        headers: { authorization: `Basic ${Buffer.from(`${accountId}:${secret ?? DEMO_SECRETS[accountId]}`).toString('base64')}` },
      });
      if (res.statusCode !== 200) throw new Error(`login as ${accountId} failed: ${res.statusCode} ${res.body}`);
      tokens.set(key, res.json()['bearer-token']);
    }
    return tokens.get(key)!;
  };
  running.call = async (as, method, url, body, headers = {}) => {
    const h: Record<string, string> = { ...headers };
    if (as) h.authorization = `Bearer ${await running.token(as)}`;
    const res = await running.app.inject({ method: method as 'GET', url, headers: h, ...(body !== undefined ? { payload: body as object } : {}) });
    let parsed: unknown;
    try {
      parsed = res.body ? res.json() : null;
    } catch {
      parsed = res.body;
    }
    return { status: res.statusCode, body: parsed, headers: res.headers };
  };
  return running;
}

/**
 * For one describe block: a register that delivers its e-mail to a real SMTP sink on
 * 127.0.0.1, started before the block's tests and closed after them. `use` receives both once
 * they run: `registerWithSmtpSink((env) => ({ r, sink } = env))`.
 */
export function registerWithSmtpSink(use: (env: { r: TestRegister; sink: SmtpSink }) => void, overrides: Partial<RegisterConfig> = {}): void {
  let env: { r: TestRegister; sink: SmtpSink } | null = null;
  beforeAll(async () => {
    const sink = await startSmtpSink();
    env = { sink, r: await testRegister({ ...overrides, smtpUrl: sink.url }) };
    use(env);
  });
  afterAll(async () => {
    await env?.r.close();
    await env?.sink.close();
  });
}

/** A DCC report of DISCOVERED access (POST /v1/discovered-access) by OctopusFlux's reference; override parts as needed. */
export function discoveredBody(mpxn: string, patch: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    mpxn,
    'organisation-name': 'OctopusFlux Ltd',
    'organisation-reference': 'SEC-OU-00102',
    'first-seen': '2026-01-01',
    'data-types-observed': ['HH-CONSUMPTION'],
    'source-reference': 'DCC-1',
    ...patch,
  };
}

/** A valid sole/uk-consent record body for tests; override parts as needed. */
/**
 * bright_energy creates a consent record with this purpose and sole lead controller, on an
 * identity record of its own made for it (what the admin search finds a record by).
 * Returns the access key and the body sent; fails the test unless the register answered 201.
 */
export async function createNamedRecord(r: TestRegister, purpose: string, lead = 'Test Energy Ltd'): Promise<{ ak: string; body: any }> {
  const ir = (await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: '1200012345678', 'move-in-date': '2021-01-01' }, 'expressed-by': 'data-subject' })).body.ir;
  const body = consentBody(ir);
  body.processing.purpose = purpose;
  body['record-metadata']['controller-arrangement'].controllers = [{ name: lead, role: 'sole', 'contact-url': 'https://lead.example/contact' }];
  const res = await r.call('bright_energy', 'POST', '/v1/access-records', body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return { ak: res.body['access-token'].key as string, body };
}

export function consentBody(ir: string | null, patch: Record<string, unknown> = {}): any {
  return {
    'record-metadata': {
      'schema-version': '1.0',
      'controller-arrangement': {
        'arrangement-type': 'sole',
        controllers: [{ name: 'Test Energy Ltd', role: 'sole', 'contact-url': 'https://test-energy.example/contact' }],
      },
      ...(ir ? { 'identity-record-ref': ir } : {}),
    },
    notice: { 'shared-notice': { 'terms-url': 'https://test-energy.example/terms', 'notice-version': '1.0' } },
    processing: { 'legal-basis': 'uk-consent', purpose: 'Testing', 'data-types': ['HH-CONSUMPTION'] },
    'access-event': { state: 'ACTIVE', 'registered-at': '2026-01-01T00:00:00Z', expiry: null, consent: { 'consent-type': 'expressed-consent' } },
    ...patch,
  };
}
