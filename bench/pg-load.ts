/**
 * The benchmark on PostgreSQL (`npm run bench -- --db postgres://…`): emptying and migrating the
 * bench database, loading it with COPY (the same rows bench/load.ts writes into SQLite), and the
 * few things the bench reads from it (size, the lifecycle sweeper's backlog, the server's CPU time).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresStore } from '../src/server/db/postgres-store.js';
import type { RegisterKeys } from '../src/server/lib/keys.js';
import { Clock } from '../src/server/lib/clock.js';
import { AuditLog } from '../src/server/services/audit.js';
import { cpuMsOf, ROOT, sleep } from './harness.js';
import type { LoadSink } from './load.js';

/**
 * The comment the bench puts on the `public` schema of a database it has loaded. The bench empties
 * a database only when its `public` schema has no tables or carries this comment, so pointing
 * `--db` at a database holding anything else is refused, never wiped.
 */
const BENCH_MARK = 'dar-bench: loaded by npm run bench; emptied by the next run';

/** The tables the loader writes, i.e. whose indexes it drops while loading and rebuilds after. */
const LOADED_TABLES = ['accounts', 'identity_records', 'passkey_credentials', 'access_records', 'reid_tokens', 'audit_events'];

/**
 * Empties the bench database and migrates it with the register's own command
 * (`npm run register -- migrate --db <url>`). Throws when the database holds tables the bench
 * did not load.
 */
export async function resetBenchDatabase(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, application_name: 'dar-bench reset' });
  await client.connect();
  try {
    const { rows } = await client.query<{ tables: string; mark: string | null }>(`select (select count(*) from pg_tables where schemaname = 'public')::text as tables, obj_description('public'::regnamespace, 'pg_namespace') as mark`);
    if (rows[0].tables !== '0' && rows[0].mark !== BENCH_MARK) {
      throw new Error(`${displayDb(url)} has ${rows[0].tables} table(s) the bench did not load; the bench empties the database it is given, so give it one of its own (e.g. createdb dar_bench)`);
    }
    await client.query('drop schema if exists drizzle cascade; drop schema public cascade; create schema public');
  } finally {
    await client.end();
  }
  const migrate = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'server', 'cli.ts'), 'migrate', '--db', url], { cwd: ROOT, encoding: 'utf8' });
  if (migrate.status !== 0) throw new Error(`npm run register -- migrate failed (${migrate.status}):\n${migrate.stdout}${migrate.stderr}`);
  const marked = new pg.Client({ connectionString: url, application_name: 'dar-bench reset' });
  await marked.connect();
  try {
    await marked.query(`comment on schema public is ${pg.escapeLiteral(BENCH_MARK)}`);
  } finally {
    await marked.end();
  }
}

/** Writes a fresh key file with the register's own command (`npm run register -- keys new <file>`). */
export function newKeyFile(file: string): void {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src', 'server', 'cli.ts'), 'keys', 'new', file], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`npm run register -- keys new failed (${r.status}):\n${r.stdout}${r.stderr}`);
}

/** The URL without its password, for messages. */
export function displayDb(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString();
}

/** Size of the database (all its tables, indexes, TOAST), in MB. */
export async function databaseMb(url: string): Promise<number> {
  return withClient(url, async (c) => Number((await c.query<{ b: string }>('select pg_database_size(current_database())::text as b')).rows[0].b) / 1024 / 1024);
}

/** The server's version string, e.g. "15.14". */
export async function serverVersion(url: string): Promise<string> {
  return withClient(url, async (c) => (await c.query<{ server_version: string }>('show server_version')).rows[0].server_version);
}

/** Waits (≤ 5 min) until no ACTIVE record is past its expiry and no DISCOVERED row is older than 180 days. */
export async function sweptBacklogPg(url: string): Promise<void> {
  await withClient(url, async (c) => {
    const deadline = Date.now() + 300_000;
    for (;;) {
      const now = new Date();
      const { rows } = await c.query<{ n: string }>(
        `select ((select count(*) from access_records where state = 'ACTIVE' and expires_at <= $1)
               + (select count(*) from access_records where state = 'DISCOVERED' and coalesce(last_seen, first_seen) < $2))::text as n`,
        [now.toISOString(), new Date(now.getTime() - 180 * 86_400_000).toISOString()],
      );
      if (rows[0].n === '0' || Date.now() > deadline) return;
      await sleep(250);
    }
  });
}

/**
 * The processes of the PostgreSQL server behind `url` when it runs on this machine and the bench
 * may read its data directory setting (a superuser): the postmaster and all its children
 * (backends, WAL writer, checkpointer, …). null otherwise. For the server's CPU time per request.
 */
export async function serverProcesses(url: string): Promise<(() => number[]) | null> {
  try {
    const dir = await withClient(url, async (c) => (await c.query<{ data_directory: string }>('show data_directory')).rows[0].data_directory);
    const postmaster = Number(readFileSync(join(dir, 'postmaster.pid'), 'utf8').split('\n')[0]);
    if (!Number.isInteger(postmaster) || postmaster <= 0) return null;
    return () => {
      const pids = [postmaster];
      for (const name of readdirSync('/proc')) {
        if (!/^\d+$/.test(name)) continue;
        try {
          // Field 4 of /proc/<pid>/stat (after the command in parentheses) is the parent's pid.
          if (Number(readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ')[1]) === postmaster) pids.push(Number(name));
        } catch {
          /* exited meanwhile */
        }
      }
      return pids;
    };
  } catch {
    return null;
  }
}

/**
 * CPU time (ms) the server's processes have used so far: the postmaster's own, what its exited
 * children used (the kernel adds a reaped child's time to its parent's cutime/cstime, so a
 * connection the pool closes, or an autovacuum worker that ends, keeps counting), and what the
 * live children have used.
 */
export function serverCpuMs(processes: () => number[]): number {
  const [postmaster, ...children] = processes();
  let ticks = 0;
  try {
    // Fields 14–17 of /proc/<pid>/stat: utime, stime, cutime, cstime (clock ticks of 10 ms).
    const f = readFileSync(`/proc/${postmaster}/stat`, 'utf8').split(') ')[1].split(' ');
    ticks += Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  } catch {
    return NaN; // the server stopped
  }
  let ms = ticks * 10;
  for (const pid of children) {
    try {
      ms += cpuMsOf(pid);
    } catch {
      /* exited meanwhile: now in the postmaster's cutime/cstime */
    }
  }
  return ms;
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, application_name: 'dar-bench' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

// ---------------------------------------------------------------- COPY

/**
 * COPY … FROM STDIN through node-postgres, without another package: pg's Query hands a
 * submitted query the server's CopyInResponse (`handleCopyInResponse`, where pg itself only
 * refuses), and this one answers it with the rows and CopyDone. The rows go in 256 KiB messages.
 */
class CopyFrom extends pg.Query {
  constructor(
    text: string,
    private readonly data: Buffer,
    done: (err: Error | undefined) => void,
  ) {
    super(text, (err) => done(err));
  }

  handleCopyInResponse(connection: { sendCopyFromChunk(chunk: Buffer): void; endCopyFrom(): void }): void {
    for (let i = 0; i < this.data.length; i += 256 * 1024) connection.sendCopyFromChunk(this.data.subarray(i, i + 256 * 1024));
    connection.endCopyFrom();
  }
}

function copyFrom(client: pg.Client, text: string, data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    client.query(new CopyFrom(text, data, (err) => (err ? reject(err) : resolve())));
  });
}

const COPY_ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One value in COPY's text format: \N for null, a bytea as \\x<hex>, backslash and separators escaped. */
function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  if (Buffer.isBuffer(v)) return `\\\\x${v.toString('hex')}`;
  if (typeof v === 'boolean') return v ? 't' : 'f';
  const s = String(v);
  return /[\\\t\n\r]/.test(s) ? s.replace(/[\\\t\n\r]/g, (c) => COPY_ESCAPES[c]) : s;
}

/** Rows of one table waiting for the next COPY. */
class CopyBuffer {
  private lines: string[] = [];
  rows = 0;

  constructor(
    readonly table: string,
    readonly columns: string[],
  ) {}

  add(values: unknown[]): void {
    this.lines.push(values.map(copyValue).join('\t'));
    this.rows++;
  }

  async flush(client: pg.Client): Promise<void> {
    if (this.lines.length === 0) return;
    const data = Buffer.from(`${this.lines.join('\n')}\n`);
    this.lines = [];
    await copyFrom(client, `copy ${this.table} (${this.columns.join(', ')}) from stdin`, data);
  }
}

/**
 * The PostgreSQL sink for bench/load.ts: the same rows as the SQLite statements there, each
 * table's `seq` given in insertion order (1, 2, … as SQLite's AUTOINCREMENT gives them in an
 * empty table), written with COPY, a COPY per table per batch.
 *
 * Loading fast, the way PostgreSQL is usually bulk-loaded: the loaded tables' secondary indexes
 * are dropped first and rebuilt after from their own definitions (pg_indexes), so the schema
 * ends exactly as migrated; the record-count triggers are disabled during the load and the
 * counts they keep are computed after with one GROUP BY (the same numbers). Then the identity
 * sequences are moved past the loaded seqs, VACUUM ANALYZE gives the planner its statistics
 * (the SQLite register runs PRAGMA optimize at its first start), and a CHECKPOINT writes it all
 * out so the measurements do not start under a checkpoint. The loader's session commits
 * without waiting for the WAL flush (`synchronous_commit = off`, this session only).
 */
export async function openPostgresSink(url: string): Promise<LoadSink> {
  const client = new pg.Client({ connectionString: url, application_name: 'dar-bench loader' });
  await client.connect();
  await client.query('set synchronous_commit = off');
  const indexes = (
    await client.query<{ name: string; def: string }>(
      `select i.indexname as name, i.indexdef as def from pg_indexes i
        where i.schemaname = 'public' and i.tablename = any($1)
          and not exists (select 1 from pg_constraint c where c.conname = i.indexname and c.connamespace = 'public'::regnamespace)`,
      [LOADED_TABLES],
    )
  ).rows;
  await client.query(indexes.map((i) => `drop index ${pg.escapeIdentifier(i.name)}`).join('; '));
  await client.query('alter table access_records disable trigger user');

  const seqs = new Map<string, number>();
  const nextSeq = (table: string) => {
    const n = (seqs.get(table) ?? 0) + 1;
    seqs.set(table, n);
    return n;
  };
  const settings = new CopyBuffer('settings', ['key', 'value', 'updated_at']);
  const audit = new CopyBuffer('audit_events', ['seq', 'link_seq', 'at', 'actor', 'event_type', 'ak', 'ir', 'subject', 'detail', 'prev_hash', 'hash']);
  const accounts = new CopyBuffer('accounts', ['seq', 'account_id', 'secret_hash', 'duid', 'display_name', 'role', 'contact_url', 'organisation_reference', 'data_types_supported', 'return_urls', 'registered_at', 'updated_at', 'status']);
  const identities = new CopyBuffer('identity_records', ['seq', 'ir', 'duid', 'mpxn', 'move_in_date', 'address', 'expressed_by', 'principal_verification', 'email_hash', 'email_enc', 'webauthn_user_id', 'created_at']);
  const credentials = new CopyBuffer('passkey_credentials', ['seq', 'credential_id', 'ir', 'webauthn_id', 'public_key', 'transports', 'registered_at', 'counter', 'device_type', 'backed_up']);
  const records = new CopyBuffer('access_records', [
    'seq',
    'ak',
    'duid',
    'ir',
    'mpxn',
    'state',
    'legal_basis',
    'arrangement_type',
    'lead_controller_name',
    'controller_count',
    'purpose',
    'data_types',
    'expiry',
    'expires_at',
    'registered_at',
    'body',
    'record_metadata',
    'created_at',
    'updated_at',
    'revoked_at',
    'revoke_reason',
    'revoked_by',
    'expired_at',
    'activated_at',
    'kind',
  ]);
  const discovered = new CopyBuffer('access_records', [
    'seq',
    'ak',
    'mpxn',
    'data_types',
    'created_at',
    'updated_at',
    'organisation_name',
    'organisation_reference',
    'first_seen',
    'last_seen',
    'source_reference',
    'kind',
    'state',
    'controller_count',
  ]);
  const tokens = new CopyBuffer('reid_tokens', ['seq', 'token_ref', 'method', 'ir', 'mpxn', 'initiator_account_id', 'initiator_duid', 'status', 'created_at', 'ceremony_expires_at', 'usable_until', 'confirmed_at', 'flow']);
  const buffers = [settings, accounts, identities, credentials, records, discovered, tokens, audit];

  return {
    setting: (row) => settings.add(row),
    audit: (row) => audit.add(row),
    account: (row) => accounts.add([nextSeq('accounts'), ...row, 'active']),
    identity: (row) => identities.add([nextSeq('identity_records'), ...row]),
    credential: (row) => credentials.add([nextSeq('passkey_credentials'), ...row, 0, 'multiDevice', true]),
    record: (row) => {
      const seq = nextSeq('access_records');
      records.add([seq, ...row, 'record']);
      return seq;
    },
    discovered: (row) => discovered.add([nextSeq('access_records'), ...row, 'discovered', 'DISCOVERED', 0]),
    token: (row) => tokens.add([nextSeq('reid_tokens'), ...row, 'mpxn']),
    batch: async (fn) => {
      fn();
      await client.query('begin');
      for (const b of buffers) await b.flush(client);
      await client.query('commit');
    },
    verifyAudit: async (keys: RegisterKeys) => {
      // The audit chain is read in link order, which wants its index: built here, before the rest.
      for (const i of indexes.filter((x) => x.name.startsWith('audit_events_link'))) await client.query(i.def);
      const store = new PostgresStore({ url, max: 2, applicationName: 'dar-bench verify' });
      try {
        return await new AuditLog(store, keys.signingKey, new Clock()).verify();
      } finally {
        await store.close();
      }
    },
    finish: async () => {
      const built = new Set((await client.query<{ name: string }>(`select indexname as name from pg_indexes where schemaname = 'public'`)).rows.map((r) => r.name));
      for (const i of indexes) if (!built.has(i.name)) await client.query(i.def);
      await client.query('begin');
      await client.query(`insert into access_record_counts (duid, state, n) select duid, state, count(*) from access_records where duid is not null group by duid, state`);
      await client.query('alter table access_records enable trigger user');
      await client.query('commit');
      for (const table of [...seqs.keys(), 'audit_events']) {
        await client.query(`select setval(pg_get_serial_sequence($1, 'seq'), (select max(seq) from ${pg.escapeIdentifier(table)}))`, [table]);
      }
      await client.query('vacuum (analyze)');
      await client.query('checkpoint');
      await client.end();
    },
  };
}
