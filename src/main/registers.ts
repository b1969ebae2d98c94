/**
 * Which register the desktop app works against: the local sandbox it starts itself (the
 * default) or a deployed register by URL. The choice and the list of known registers live in
 * a plain settings file in userData; account ids and secrets live only in a file encrypted
 * with the operating system's key store (safeStorage), never in plain text on disk.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { STAFF_ROLES } from '../shared/vocabulary';

export type RegisterChoice = { kind: 'local' } | { kind: 'remote'; url: string };

export interface RemoteCredentials {
  accountId: string;
  secret: string;
}

/** The part of Electron's safeStorage this module needs (passed in, so it can be replaced). */
export interface KeyStore {
  isEncryptionAvailable(): boolean;
  encryptString(text: string): Buffer;
  decryptString(encrypted: Buffer): string;
}

interface SettingsFile {
  register: RegisterChoice;
  /** Deployed registers used before, most recent first (origins only, nothing secret). */
  remotes: string[];
}

const SETTINGS_FILE = 'desktop-settings.json';
const CREDENTIALS_FILE = 'register-credentials.bin';

function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/**
 * The register's origin from what the operator typed. HTTPS is required, except on this
 * computer (http://localhost:…), where a second register may run for tests and training.
 */
export function normaliseRegisterUrl(input: string): string {
  let url: URL;
  try {
    url = new URL(input.trim());
  } catch {
    throw new Error('Enter the register’s address, for example https://dar.example.org');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname))) {
    throw new Error('A deployed register must be reached over https:// (plain http:// only for localhost).');
  }
  if (url.username || url.password) throw new Error('Do not put the account id or secret in the address.');
  return url.origin;
}

export class DesktopRegisters {
  private settings: SettingsFile = { register: { kind: 'local' }, remotes: [] };
  /** Used when no key store is available: credentials last only as long as the app runs. */
  private memoryOnly = new Map<string, RemoteCredentials>();

  constructor(
    private readonly dir: string,
    private readonly keyStore: KeyStore,
  ) {
    const file = join(dir, SETTINGS_FILE);
    if (!existsSync(file)) return;
    try {
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<SettingsFile>;
      const remotes = Array.isArray(parsed.remotes) ? parsed.remotes.filter((r): r is string => typeof r === 'string') : [];
      const reg = parsed.register;
      const register: RegisterChoice = reg && reg.kind === 'remote' && typeof reg.url === 'string' ? { kind: 'remote', url: reg.url } : { kind: 'local' };
      this.settings = { register, remotes };
    } catch {
      // A damaged settings file falls back to the local sandbox.
    }
  }

  get keyStoreAvailable(): boolean {
    return this.keyStore.isEncryptionAvailable();
  }

  choice(): RegisterChoice {
    return this.settings.register;
  }

  remotes(): string[] {
    return [...this.settings.remotes];
  }

  choose(choice: RegisterChoice): void {
    const remotes = choice.kind === 'remote' ? [choice.url, ...this.settings.remotes.filter((r) => r !== choice.url)].slice(0, 8) : this.settings.remotes;
    this.settings = { register: choice, remotes };
    writeFileSync(join(this.dir, SETTINGS_FILE), `${JSON.stringify(this.settings, null, 2)}\n`, { mode: 0o600 });
  }

  private readAll(): Record<string, RemoteCredentials> {
    const file = join(this.dir, CREDENTIALS_FILE);
    if (!this.keyStoreAvailable || !existsSync(file)) return {};
    try {
      return JSON.parse(this.keyStore.decryptString(readFileSync(file))) as Record<string, RemoteCredentials>;
    } catch {
      // Unreadable (other machine, key store reset): the operator signs in again.
      return {};
    }
  }

  credentials(url: string): RemoteCredentials | null {
    return this.memoryOnly.get(url) ?? this.readAll()[url] ?? null;
  }

  saveCredentials(url: string, creds: RemoteCredentials): void {
    if (!this.keyStoreAvailable) {
      this.memoryOnly.set(url, creds);
      return;
    }
    const all = this.readAll();
    all[url] = { accountId: creds.accountId, secret: creds.secret };
    writeFileSync(join(this.dir, CREDENTIALS_FILE), this.keyStore.encryptString(JSON.stringify(all)), { mode: 0o600 });
  }

  forget(url: string): void {
    this.memoryOnly.delete(url);
    const all = this.readAll();
    if (all[url]) {
      delete all[url];
      writeFileSync(join(this.dir, CREDENTIALS_FILE), this.keyStore.encryptString(JSON.stringify(all)), { mode: 0o600 });
    }
    this.settings = { register: this.settings.register.kind === 'remote' && this.settings.register.url === url ? { kind: 'local' } : this.settings.register, remotes: this.settings.remotes.filter((r) => r !== url) };
    writeFileSync(join(this.dir, SETTINGS_FILE), `${JSON.stringify(this.settings, null, 2)}\n`, { mode: 0o600 });
  }
}

export interface RemoteSession {
  token: string;
  /** Seconds the token stays valid. */
  expires: number;
  accountId: string;
  role: string;
}

/**
 * Signs in to a deployed register from the main process, so the secret never reaches the
 * page: the register's own console only ever receives the bearer token.
 */
export async function signInRemote(url: string, creds: RemoteCredentials): Promise<RemoteSession> {
  const basic = `Basic ${Buffer.from(`${creds.accountId}:${creds.secret}`, 'utf8').toString('base64')}`;
  let issued: Response;
  try {
    issued = await fetch(`${url}/v1/auth/token`, { headers: { authorization: basic, accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
  } catch {
    throw new Error(`The register at ${url} cannot be reached. Check the address and your network.`);
  }
  const body = (await issued.json().catch(() => null)) as { 'bearer-token'?: string; expires?: number; errors?: Array<{ message?: string }> } | null;
  if (!issued.ok || !body?.['bearer-token']) {
    if (issued.status === 401 || issued.status === 403) throw new Error(`The register at ${url} refused this account id or secret.`);
    throw new Error(body?.errors?.[0]?.message ?? `The register at ${url} answered HTTP ${issued.status}; is this a Data Access Register?`);
  }
  const token = body['bearer-token'];
  const self = await fetch(`${url}/v1/self`, { headers: { authorization: `Bearer ${token}`, accept: 'application/json' }, signal: AbortSignal.timeout(15_000) });
  const account = ((await self.json().catch(() => null)) as { account?: { 'account-id'?: string; role?: string } } | null)?.account;
  const role = account?.role ?? '';
  if (!self.ok || !(STAFF_ROLES as readonly string[]).includes(role)) {
    throw new Error(`Only administrator and support accounts can use the console; "${creds.accountId}" is neither.`);
  }
  return { token, expires: body.expires || 7200, accountId: account?.['account-id'] ?? creds.accountId, role };
}
