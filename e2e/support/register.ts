/**
 * Starts the headless register (`src/server/cli.ts`) as a child process for end-to-end
 * tests, on a free port with a fresh temporary data folder, and stops it afterwards.
 *
 * The base URL always uses `http://localhost:<port>`: WebAuthn (passkeys) needs the
 * `localhost` origin, not `127.0.0.1`.
 *
 *   const reg = await startRegister();            // demo data by default
 *   const token = await adminToken(reg.url);       // admin_ops bearer token
 *   const res = await apiCall(reg.url, 'GET', '/v1/admin/stats', { token });
 *   await reg.stop();
 *
 * Playwright tests normally use the `register` fixture from `./fixtures` instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEMO_ACCOUNTS } from '../../src/server/seed/demo';

export const ROOT = resolve(import.meta.dirname, '..', '..');

/** Demo data (`--seed demo`, see the contract's demo-data.md). Demo values only. */
export const DEMO = {
  mpxn: '2312345678901',
  customerEmail: 'customer@example.com',
  discoveredOrganisation: 'Acme Energy Services Ltd',
  accounts: Object.fromEntries(DEMO_ACCOUNTS.map((a) => [a.accountId, a.secret])) as Record<string, string>,
} as const;

export interface StartOptions {
  /** Load the demo data set (default true). */
  seed?: boolean;
  mode?: 'sandbox' | 'production';
  /** Extra CLI flags, e.g. ['--smtp', 'smtp://127.0.0.1:2525']. */
  args?: string[];
  /** Register log level (default warn). */
  logLevel?: string;
  /** Use this data folder instead of a fresh temporary one (kept afterwards). */
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the register to answer (default 60 s). */
  timeoutMs?: number;
  /** Listen on this port instead of a free one (e.g. to restart a stopped register in place). */
  port?: number;
}

export interface RegisterHandle {
  /** `http://localhost:<port>` */
  url: string;
  port: number;
  dataDir: string;
  process: ChildProcess;
  /** Everything the register printed so far (stdout and stderr). */
  output(): string;
  /** Stops the register (SIGTERM, then SIGKILL) and removes a temporary data folder. */
  stop(): Promise<void>;
}

/** Asks the OS for a free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      srv.close(() => resolvePort(port));
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v1/openapi.json`, { signal: AbortSignal.timeout(2000) });
    return res.ok;
  } catch {
    return false;
  }
}

export async function startRegister(options: StartOptions = {}): Promise<RegisterHandle> {
  const port = options.port ?? (await freePort());
  const temporary = !options.dataDir;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'dar-e2e-'));
  const args = ['src/server/cli.ts', '--port', String(port), '--data', dataDir, '--log-level', options.logLevel ?? 'warn'];
  if (options.seed !== false) args.push('--seed', 'demo');
  if (options.mode) args.push('--mode', options.mode);
  args.push(...(options.args ?? []));

  const tsx = join(ROOT, 'node_modules', '.bin', 'tsx');
  const child = spawn(tsx, args, { cwd: ROOT, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(killer);
    }
    if (temporary) rmSync(dataDir, { recursive: true, force: true });
  };

  const url = `http://localhost:${port}`;
  const deadline = Date.now() + (options.timeoutMs ?? 60_000);
  let exitCode: number | null | undefined;
  void exited.then((c) => (exitCode = c));
  while (Date.now() < deadline) {
    if (exitCode !== undefined) {
      await stop();
      throw new Error(`The register exited (code ${exitCode}) before it answered:\n${output}`);
    }
    // It prints its base URL once listening; then the API must answer.
    if (/listening on http:\/\/\S+/.test(output) && (await answers(url))) {
      return { url, port, dataDir, process: child, output: () => output, stop };
    }
    await new Promise((r) => setTimeout(r, 150));
  }
  await stop();
  throw new Error(`The register did not answer on ${url} within ${options.timeoutMs ?? 60_000} ms:\n${output}`);
}

/** true when the console has been built (`npm run build`), so the register serves /console/. */
export function consoleBuilt(): boolean {
  return existsSync(join(ROOT, 'out', 'renderer', 'index.html'));
}

export function basic(accountId: string, secret: string): string {
  return `Basic ${Buffer.from(`${accountId}:${secret}`).toString('base64')}`;
}

/** Bearer token for any account (demo secrets are known by account id). */
export async function bearerToken(url: string, accountId: string, secret: string = DEMO.accounts[accountId] ?? ''): Promise<string> {
  const res = await fetch(`${url}/v1/auth/token`, { headers: { authorization: basic(accountId, secret) } });
  const body = (await res.json()) as { 'bearer-token'?: string };
  if (!res.ok || !body['bearer-token']) throw new Error(`Sign-in as ${accountId} failed: HTTP ${res.status} ${JSON.stringify(body)}`);
  return body['bearer-token'];
}

/** Bearer token for the demo administrator admin_ops. */
export function adminToken(url: string): Promise<string> {
  return bearerToken(url, 'admin_ops', DEMO.accounts.admin_ops);
}

export interface ApiResult<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

/** One JSON call to the register. `token` adds a bearer header; `basic` adds Basic credentials. */
export async function apiCall<T = any>(url: string, method: string, path: string, opts: { token?: string; basic?: [string, string]; body?: unknown; headers?: Record<string, string> } = {}): Promise<ApiResult<T>> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.basic) headers.authorization = basic(opts.basic[0], opts.basic[1]);
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${path}`, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: body as T, headers: res.headers };
}

/** A customer's identity record, registered by a Data User (its bearer `token`); returns the record's ir. */
export async function registerCustomer(url: string, token: string, customer: { mpxn: string; moveIn: string; address?: Record<string, string>; email?: string }): Promise<string> {
  const { mpxn, moveIn, address, email } = customer;
  const created = await apiCall(url, 'POST', '/v1/identity-records', {
    token,
    body: { 'pii-principal': { mpxn, 'move-in-date': moveIn, ...(address ? { address } : {}) }, 'expressed-by': 'data-subject', ...(email ? { email } : {}) },
  });
  if (created.status !== 201) throw new Error(`The register refused the identity record (HTTP ${created.status}): ${JSON.stringify(created.body)}`);
  return created.body.ir;
}
