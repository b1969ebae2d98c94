import { isIP } from 'node:net';
import { resolve } from 'node:path';
import type { Mode } from '../shared/vocabulary.js';

export type { Mode };

/** `pretty`: one short line per request, for a terminal; `json`: pino's JSON lines, for log shippers. */
export type LogFormat = 'pretty' | 'json';

/** Everything a register needs to start. Built from CLI flags, env vars or by the Electron shell. */
export interface RegisterConfig {
  port: number;
  host: string;
  /** Data directory (SQLite file + key file). null = in-memory database and throwaway keys (tests). */
  dataDir: string | null;
  /**
   * The key file to use instead of `<dataDir>/register.keys.json` (`--keys-file`): it must exist
   * (`npm run register -- keys new <file>` writes one). Every node of a cluster uses the same one.
   */
  keysFile: string | null;
  /**
   * `--db postgres://…`: run on that PostgreSQL database, as one of any number of nodes sharing
   * it (docs/deploying.md). null: SQLite in the data folder (the default).
   */
  databaseUrl: string | null;
  mode: Mode;
  seed: 'demo' | null;
  /** Public origin customers see (magic links, passkey pages). Sandbox: http://localhost:<port>. */
  origin: string | null;
  rpId: string | null;
  rpName: string;
  /** smtp://host:port to also deliver e-mail over SMTP; null = capture in the outbox only. */
  smtpUrl: string | null;
  mailFrom: string;
  migrationsFolder: string;
  /** PostgreSQL's migrations (drizzle-pg/): a node checks the database is at their version. */
  pgMigrationsFolder: string;
  /** Folder holding the built console (served at /console) when present. */
  consoleDir: string | null;
  logLevel: string;
  /** How the headless register writes its log to stdout (cli.ts); the default follows whether stdout is a terminal. */
  logFormat: LogFormat;
  /** Background workers (mail retry, webhook delivery, sweeper). Tests may turn them off. */
  workers: boolean;
  /**
   * Webhook retry delays after a failed attempt, in order (contract §9: 1 min, 5 min,
   * 30 min, 2 h, 24 h). One attempt plus one retry per entry; then `undelivered`.
   * Tests inject a fast schedule here.
   */
  webhookRetryScheduleMs: number[];
  /** A delivery must answer 2xx within this many milliseconds (contract §9: 10 s). */
  webhookTimeoutMs: number;
  /** How often the delivery worker looks for due rows when nothing woke it. */
  webhookPollMs: number;
  /** How often the lifecycle sweeper runs (expiry, DISCOVERED ageing, consent.expiring). */
  sweepIntervalMs: number;
  /** How often audit events written since are linked into the chain (services/audit.ts). */
  auditLinkIntervalMs: number;
  /** How often records queued for the admin search's index are indexed (services/search-index.ts). */
  searchIndexIntervalMs: number;
  /** How often PostgreSQL's pending record-count changes are folded into the counts (services/record-counts.ts). */
  recordCountFoldIntervalMs: number;
  /**
   * Proxies whose X-Forwarded-For the register believes (addresses or CIDR ranges, as
   * Fastify's `trustProxy` takes them). Empty: the client address is the socket's, whatever
   * the request claims. Sign-in throttling keys on it.
   */
  trustProxy: string[];
}

/** Contract §9: retry after 1 min, 5 min, 30 min, 2 h, 24 h. */
export const WEBHOOK_RETRY_SCHEDULE_MS: readonly number[] = [60_000, 5 * 60_000, 30 * 60_000, 2 * 3600_000, 24 * 3600_000];
export const WEBHOOK_TIMEOUT_MS = 10_000;

export const PROJECT_ROOT = resolve(import.meta.dirname, '..', '..');

export function defaultConfig(overrides: Partial<RegisterConfig> = {}): RegisterConfig {
  return {
    port: 5001,
    host: '127.0.0.1',
    dataDir: resolve('data'),
    keysFile: null,
    databaseUrl: null,
    mode: 'sandbox',
    seed: null,
    origin: null,
    rpId: null,
    rpName: 'Data Access Register',
    smtpUrl: process.env.DAR_SMTP_URL ?? null,
    mailFrom: process.env.DAR_MAIL_FROM ?? 'Data Access Register <no-reply@dar.localhost>',
    migrationsFolder: resolve(PROJECT_ROOT, 'drizzle'),
    pgMigrationsFolder: resolve(PROJECT_ROOT, 'drizzle-pg'),
    consoleDir: resolve(PROJECT_ROOT, 'out', 'renderer'),
    logLevel: 'info',
    logFormat: 'json',
    workers: true,
    webhookRetryScheduleMs: [...WEBHOOK_RETRY_SCHEDULE_MS],
    webhookTimeoutMs: WEBHOOK_TIMEOUT_MS,
    webhookPollMs: 5_000,
    sweepIntervalMs: 60_000,
    auditLinkIntervalMs: 1_000,
    searchIndexIntervalMs: 1_000,
    recordCountFoldIntervalMs: 1_000,
    trustProxy: [],
    ...overrides,
  };
}

export class UsageError extends Error {}

const USAGE = `Usage: npm run register -- [options]

  --port <n>              TCP port (default 5001; 0 = any free port)
  --host <addr>           interface to listen on (default 127.0.0.1)
  --data <dir>            data directory for the SQLite file and key file (default ./data)
  --db <postgres://…>     run on this PostgreSQL database (migrated with "migrate"
                          below), one of any number of nodes; needs --keys-file
  --keys-file <file>      use this key file instead of <data>/register.keys.json
                          (it must exist: see "keys new" below)
  --seed demo             load the demo data set (idempotent)
  --mode sandbox|production
                          sandbox (default): local developer register
                          production: https-only callbacks, secure cookies, --origin required
  --origin <url>          public origin for customer pages (default http://localhost:<port>)
  --rp-id <host>          WebAuthn relying-party id (default: the origin's host name)
  --rp-name <name>        WebAuthn relying-party name
  --smtp <url>            also deliver e-mail over SMTP, e.g. smtp://127.0.0.1:2525
  --mail-from <address>   From: header for e-mail
  --log-level <level>     fatal|error|warn|info|debug|trace|silent (default info)
  --log-format pretty|json
                          pretty: one short line per request (default in a terminal)
                          json: one JSON line per request (default otherwise)
  --trust-proxy <list>    comma-separated proxy addresses or CIDR ranges whose
                          X-Forwarded-For gives the client address (default: none;
                          the socket address is used). Also DAR_TRUST_PROXY.
  --help                  show this help

  npm run register -- migrate --db <postgres://… | SQLite file>
                          migrate a database's schema to this version and exit
  npm run register -- keys new <file>
                          write a new key file (mode 0600; never overwrites one)`;

export function usage(): string {
  return USAGE;
}

/**
 * Takes the next flag off `args` (the register's and `migrate`'s parsers share it): `--flag value`
 * or `--flag=value`; `take()` reads its value (UsageError "<flag> needs a value" when there is
 * none); 'help' for `--help` / `-h`.
 */
export function nextFlag(args: string[]): { flag: string; take: () => string } | 'help' {
  let flag = args.shift()!;
  let value: string | undefined;
  if (flag === '--help' || flag === '-h') return 'help';
  const eq = flag.indexOf('=');
  if (flag.startsWith('--') && eq > 0) {
    value = flag.slice(eq + 1);
    flag = flag.slice(0, eq);
  }
  return {
    flag,
    take: () => {
      const v = value ?? args.shift();
      if (v === undefined || v === '') throw new UsageError(`${flag} needs a value`);
      return v;
    },
  };
}

/**
 * Parses `--flag value` / `--flag=value` arguments. Throws UsageError on anything unknown.
 * `stdoutIsTTY` chooses the default log format: a person in a terminal reads pretty lines,
 * anything else (a pipe, a file, a service manager) gets JSON.
 */
export function parseArgs(argv: string[], env: NodeJS.ProcessEnv = process.env, stdoutIsTTY: boolean = Boolean(process.stdout.isTTY)): RegisterConfig | 'help' {
  const config = defaultConfig({ logFormat: stdoutIsTTY ? 'pretty' : 'json' });
  if (env.DAR_DATA_DIR) config.dataDir = resolve(env.DAR_DATA_DIR);
  if (env.DAR_TRUST_PROXY) config.trustProxy = parseTrustProxy(env.DAR_TRUST_PROXY, 'DAR_TRUST_PROXY');
  const args = [...argv];
  while (args.length > 0) {
    const next = nextFlag(args);
    if (next === 'help') return 'help';
    const { flag, take } = next;
    switch (flag) {
      case '--port': {
        const v = take();
        const n = Number(v);
        if (!/^\d+$/.test(v) || n > 65535) throw new UsageError(`--port must be a number from 0 to 65535, got "${v}"`);
        config.port = n;
        break;
      }
      case '--host':
        config.host = take();
        break;
      case '--data':
        config.dataDir = resolve(take());
        break;
      case '--keys-file':
        config.keysFile = resolve(take());
        break;
      case '--db': {
        const url = take();
        if (!/^postgres(ql)?:\/\//.test(url)) throw new UsageError('--db takes a postgres:// URL (SQLite, the default, lives in --data <dir>)');
        config.databaseUrl = url;
        break;
      }
      case '--seed': {
        const v = take();
        if (v !== 'demo') throw new UsageError(`--seed accepts only "demo", got "${v}"`);
        config.seed = 'demo';
        break;
      }
      case '--mode': {
        const v = take();
        if (v !== 'sandbox' && v !== 'production') throw new UsageError(`--mode must be sandbox or production, got "${v}"`);
        config.mode = v;
        break;
      }
      case '--origin': {
        const v = take();
        let url: URL;
        try {
          url = new URL(v);
        } catch {
          throw new UsageError(`--origin must be a URL, got "${v}"`);
        }
        if (url.pathname !== '/' || url.search || url.hash) throw new UsageError('--origin must be an origin only, e.g. https://id.example.org');
        config.origin = url.origin;
        break;
      }
      case '--rp-id':
        config.rpId = take();
        break;
      case '--rp-name':
        config.rpName = take();
        break;
      case '--smtp': {
        const v = take();
        if (!/^smtps?:\/\//.test(v)) throw new UsageError(`--smtp must be an smtp:// or smtps:// URL, got "${v}"`);
        config.smtpUrl = v;
        break;
      }
      case '--mail-from':
        config.mailFrom = take();
        break;
      case '--log-level':
        config.logLevel = take();
        break;
      case '--log-format': {
        const v = take();
        if (v !== 'pretty' && v !== 'json') throw new UsageError(`--log-format must be pretty or json, got "${v}"`);
        config.logFormat = v;
        break;
      }
      case '--trust-proxy':
        config.trustProxy = parseTrustProxy(take(), '--trust-proxy');
        break;
      default:
        throw new UsageError(`unknown option "${flag}"`);
    }
  }
  if (config.mode === 'production') {
    if (!config.origin) throw new UsageError('--mode production needs --origin https://… (the public origin customers see)');
    if (!config.origin.startsWith('https://')) throw new UsageError('--mode production needs an https:// --origin');
  }
  return config;
}

/**
 * `--trust-proxy 10.0.0.1,192.168.0.0/16`: addresses or CIDR ranges only. Fastify would also
 * take `true` (believe anyone), which would let every client choose its own address.
 */
export function parseTrustProxy(value: string, name: string): string[] {
  const list = value
    .split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  if (list.length === 0) throw new UsageError(`${name} needs at least one address`);
  for (const a of list) {
    const slash = a.indexOf('/');
    const ip = slash < 0 ? a : a.slice(0, slash);
    const bits = slash < 0 ? null : a.slice(slash + 1);
    const family = isIP(ip);
    const bitsOk = bits === null || (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128));
    if (!family || !bitsOk) throw new UsageError(`${name} takes IP addresses or CIDR ranges, got "${a}"`);
    // A /0 range is every address: like `true`, it would let any client choose its own address.
    if (bits !== null && Number(bits) === 0) throw new UsageError(`${name}: "${a}" would trust every client; name your proxies' addresses or ranges`);
  }
  return list;
}
