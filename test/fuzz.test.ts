/**
 * Hostile input, property-based (issue 7): thousands of invalid and adversarial requests
 * against every operation the OpenAPI document lists, with bearer tokens of every role,
 * none, and broken ones. For every request:
 *   - never a 5xx;
 *   - every 4xx carries the error envelope (response + non-empty errors[{error-code, message}]);
 *   - a request answered 4xx changes nothing (checksum of every table before and after);
 * and the register still answers normally afterwards.
 *
 * Runs: DAR_FUZZ_RUNS (default 1500 for the per-operation property, plus smaller raw-body
 * and query-string properties). Seed: DAR_FUZZ_SEED to replay a failure.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../src/server/http/auth.js';
import { testRegister, type TestRegister } from './support/register.js';

const RUNS = Number(process.env.DAR_FUZZ_RUNS ?? 1500);
const SEED = process.env.DAR_FUZZ_SEED ? Number(process.env.DAR_FUZZ_SEED) : undefined;
const ROLES = ['admin_ops', 'bright_energy', 'octopusflux', 'provider_ops', 'dcc_system', 'portal_ops'] as const;

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  query: Schema[];
  body: Schema | null;
}

let r: TestRegister;
let operations: Operation[] = [];
let tokens: Record<string, string> = {};
let baseline = '';
let tables: string[] = [];
const stats = { requests: 0, byStatus: new Map<number, number>() };

/** Every table's rows, hashed: a 4xx must leave this unchanged. */
function checksum(): string {
  const h = createHash('sha256');
  for (const t of tables) {
    h.update(t);
    for (const row of r.reg.sqlite.prepare(`select * from "${t}" order by rowid`).raw().iterate()) h.update(JSON.stringify(row, (_k, v) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v)));
  }
  return h.digest('hex');
}

/** Tokens minted directly (no scrypt), so they can be refreshed cheaply if a 2xx moved the clock. */
async function mintTokens() {
  tokens = {};
  for (const id of ROLES) tokens[id] = await issueToken(r.reg, r.svc.accounts.get(id));
}

// ---------------------------------------------------------------- arbitraries
const hex = (n: number) => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n });
const PREFIXES = ['ak', 'ir', 'duid', 'wid', 'mlr', 'pks', 'cred', 'evt', 'tid', 'msg'];

/** Strings chosen to break things: unicode, control characters, path tricks, SQL, huge, proto keys. */
const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\u0000',
    '\u202e123',
    '💥',
    '../../etc/passwd',
    "' or 1=1 --",
    '"; drop table accounts; --',
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    'null',
    'undefined',
    'NaN',
    '-1',
    '1e309',
    '9'.repeat(40),
    '%00',
    '%',
    '%E0%A4%A',
    '\ud800',
    'ak_ZZZZZZZZZZZZZZZZZZZZZZZZ',
    'A'.repeat(300),
    'x'.repeat(5000),
  ),
  fc.tuple(fc.constantFrom(...PREFIXES), hex(24)).map(([p, h]) => `${p}_${h}`),
  fc.tuple(fc.constantFrom(...PREFIXES), hex(23)).map(([p, h]) => `${p}_${h}`),
);

const weirdValue: fc.Arbitrary<unknown> = fc.oneof(
  nastyString,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.constant({}),
  fc.constantFrom(Number.MAX_SAFE_INTEGER, -0, 1e308, 2 ** 64),
  fc.jsonValue({ maxDepth: 3 }),
);

/** A value roughly valid for a JSON schema (so mutations reach the deeper rules). */
function fromSchema(schema: Schema | undefined, depth = 0): fc.Arbitrary<unknown> {
  if (!schema || depth > 6) return weirdValue;
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (Array.isArray(schema.enum)) return fc.constantFrom(...schema.enum);
  if (Array.isArray(schema.anyOf)) return fc.oneof(...schema.anyOf.map((s: Schema) => fromSchema(s, depth + 1)));
  if (Array.isArray(schema.oneOf)) return fc.oneof(...schema.oneOf.map((s: Schema) => fromSchema(s, depth + 1)));
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  switch (type) {
    case 'object': {
      const props: Record<string, fc.Arbitrary<unknown>> = {};
      for (const [k, v] of Object.entries<Schema>(schema.properties ?? {})) props[k] = fromSchema(v, depth + 1);
      return fc.record(props, { requiredKeys: (schema.required ?? []).filter((k: string) => k in props) });
    }
    case 'array':
      return fc.array(fromSchema(schema.items, depth + 1), { maxLength: 3 });
    case 'string':
      return stringFor(schema);
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -10, max: schema.maximum ?? 1000 });
    case 'number':
      return fc.double({ noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    default:
      return weirdValue;
  }
}

function stringFor(schema: Schema): fc.Arbitrary<string> {
  const p: string = schema.pattern ?? '';
  const id = /^\^(\w+)_\[0-9a-f\]\{24\}\$$/.exec(p);
  if (id) return hex(24).map((h) => `${id[1]}_${h}`);
  if (p.includes('[0-9]{6,13}')) return fc.constantFrom('2312345678901', '1234567890123', '9900000000001');
  if (p.startsWith('^[A-Z]{1,2}[0-9]')) return fc.constantFrom('BS1 6XN', 'NW1 6XE');
  if (p.startsWith('^P')) return fc.constantFrom('P2Y', 'P6M');
  if (p.includes('[0-9]{1,18}')) return fc.integer({ min: 1, max: 1e6 }).map(String);
  if (schema.format === 'date-time') return fc.constantFrom('2026-03-24T09:00:00Z', '2020-01-01T00:00:00Z');
  if (schema.format === 'date') return fc.constantFrom('2026-03-24', '2027-12-31');
  if (schema.format === 'email') return fc.constantFrom('someone@example.com', 'customer@example.com');
  if (schema.format === 'uri' || p.startsWith('^https?')) return fc.constantFrom('https://example.org/a', 'http://localhost:5001/return', 'http://127.0.0.1:1/x');
  return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) });
}

/** Takes a (roughly valid) value and breaks it in one adversarial way. */
function mutate(value: unknown): fc.Arbitrary<unknown> {
  const keysOf = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? Object.keys(v) : []);
  const keys = keysOf(value);
  const options: fc.Arbitrary<unknown>[] = [
    fc.constant(value),
    weirdValue,
    fc.constant(value).map((v) => ({ ...(v as object), ['__proto__']: { admin: true } })),
    fc.constant(value).map((v) => JSON.parse(`{"constructor": {"prototype": {"polluted": true}}, "x": ${JSON.stringify(v ?? null)}}`)),
    fc.tuple(nastyString, weirdValue).map(([k, x]) => ({ ...(v0(value) as object), [k]: x })),
    fc.integer({ min: 50, max: 3000 }).map((n) => {
      let deep: unknown = value ?? 1;
      for (let i = 0; i < n; i++) deep = { a: deep };
      return deep;
    }),
  ];
  if (keys.length) {
    options.push(fc.constantFrom(...keys).map((k) => Object.fromEntries(Object.entries(value as object).filter(([key]) => key !== k))));
    options.push(fc.tuple(fc.constantFrom(...keys), weirdValue).map(([k, x]) => ({ ...(value as object), [k]: x })));
    options.push(fc.constantFrom(...keys).map((k) => ({ ...(value as object), [k]: 'x'.repeat(100_000) })));
    options.push(
      fc.tuple(fc.constantFrom(...keys), fc.constantFrom(...keys)).chain(([k]) => {
        const inner = (value as Record<string, unknown>)[k];
        return mutate(inner).map((m) => ({ ...(value as object), [k]: m }));
      }),
    );
  }
  return fc.oneof(...options);
}
/** encodeURIComponent, but lone surrogates become the bytes Node would send (U+FFFD). */
function enc(v: string): string {
  try {
    return encodeURIComponent(v);
  } catch {
    return [...Buffer.from(v, 'utf8')].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  }
}
const v0 = (v: unknown) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

const authArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...ROLES).map((id) => ({ kind: 'role', id })) },
  { weight: 1, arbitrary: fc.constant({ kind: 'none' }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'Bearer ',
      'Bearer a.b.c',
      'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbl9vcHMifQ.',
      'Basic YWRtaW5fb3BzOmFkbWluLXNlY3JldC1kZW1v',
      'Basic !!!',
      'Bearer 💥',
      `Bearer ${'x'.repeat(9000)}`,
      'bearer',
      'Digest x',
    ).map((header) => ({ kind: 'raw', header })),
  },
  { weight: 1, arbitrary: fc.constantFrom(...ROLES).map((id) => ({ kind: 'tampered', id })) },
);

function authHeader(a: { kind: string; id?: string; header?: string }): Record<string, string> {
  if (a.kind === 'role') return { authorization: `Bearer ${tokens[a.id!]}` };
  if (a.kind === 'tampered') {
    const [h, p, s] = tokens[a.id!].split('.');
    return { authorization: `Bearer ${h}.${p}.${s.slice(0, -2)}${s.endsWith('AA') ? 'BB' : 'AA'}` };
  }
  if (a.kind === 'raw') return { authorization: a.header! };
  return {};
}

const contentTypeArb = fc.oneof(
  { weight: 8, arbitrary: fc.constant('application/json') },
  {
    weight: 2,
    arbitrary: fc.constantFrom('text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/json; charset=utf-16', 'application/xml', 'application/json, text/plain', ''),
  },
);

function queryArb(op: Operation): fc.Arbitrary<string> {
  const known = op.query.map((q) => q.name as string);
  const pair = fc.tuple(fc.oneof(fc.constantFrom(...(known.length ? known : ['q'])), nastyString, fc.constantFrom('__proto__[x]', 'constructor[prototype][x]', 'a[b][c]', '')), fc.oneof(nastyString, fc.integer().map(String)));
  return fc.array(pair, { maxLength: 5 }).map((pairs) => pairs.map(([k, v]) => `${enc(k)}=${enc(v)}`).join('&'));
}

function pathArb(op: Operation): fc.Arbitrary<string> {
  if (op.pathParams.length === 0) return fc.constant(op.path);
  return fc.array(fc.oneof(nastyString, fc.constant('..'), fc.constant('%2F'), fc.constant('%2e%2e')), { minLength: op.pathParams.length, maxLength: op.pathParams.length }).map((values) => {
    let p = op.path;
    op.pathParams.forEach((name, i) => {
      const v = values[i];
      // Mostly encoded (a real client), sometimes raw (a hostile one; inject passes it as is).
      const raw = v === '..' || v.startsWith('%');
      p = p.replace(`{${name}}`, raw ? v : enc(v));
    });
    return p;
  });
}

function requestArb(op: Operation) {
  const body: fc.Arbitrary<{ raw?: string; json?: unknown } | null> = op.body
    ? fc.oneof(
        { weight: 6, arbitrary: fromSchema(op.body).chain(mutate).map((json) => ({ json })) },
        { weight: 1, arbitrary: fc.constant(null) },
        {
          weight: 2,
          arbitrary: fc
            .constantFrom(
              '{',
              '{"a":',
              '[1,2',
              'null',
              '"string"',
              '12',
              '{"__proto__":{"admin":true}}',
              '{"a":1,"a":2}',
              '\u0000',
              '{"x":"\\ud800"}',
              '['.repeat(10_000) + ']'.repeat(10_000),
              `{"big":"${'y'.repeat(300_000)}"}`,
            )
            .map((raw) => ({ raw })),
        },
      )
    : fc.oneof(fc.constant(null), weirdValue.map((json) => ({ json })));
  return fc.record({ path: pathArb(op), query: queryArb(op), auth: authArb, contentType: contentTypeArb, body });
}

// ---------------------------------------------------------------- the check
async function send(method: string, url: string, headers: Record<string, string>, payload?: string) {
  const before = baseline;
  const res = await r.app.inject({ method: method as 'GET', url, headers, ...(payload !== undefined ? { payload } : {}) });
  stats.requests++;
  stats.byStatus.set(res.statusCode, (stats.byStatus.get(res.statusCode) ?? 0) + 1);
  const where = `${method} ${url.slice(0, 200)} → ${res.statusCode}: ${res.body.slice(0, 400)}`;
  expect(res.statusCode, where).toBeLessThan(500);
  if (res.statusCode >= 400) {
    let body: any;
    expect(() => (body = res.json()), where).not.toThrow();
    expect(typeof body.response?.resource, where).toBe('string');
    expect(body.response['transaction-id'], where).toMatch(/^tid_[0-9a-f]{24}$/);
    expect(Array.isArray(body.errors) && body.errors.length > 0, where).toBe(true);
    for (const e of body.errors) {
      expect(e['error-code'], where).toMatch(/^(VAL|AUTH|NOT|CON|RATE|SRV)\d{3}$/);
      expect(typeof e.message === 'string' && e.message.length > 0, where).toBe(true);
    }
    expect(res.body, where).not.toMatch(/at .*\.(ts|js):\d+/);
    expect(checksum(), `4xx changed data: ${where}`).toBe(before);
  } else {
    // A request that happened to be valid: it may change data; carry on from the new state.
    baseline = checksum();
    await mintTokens();
  }
  expect(({} as Record<string, unknown>).admin, 'prototype polluted').toBeUndefined();
  expect(({} as Record<string, unknown>).polluted, 'prototype polluted').toBeUndefined();
  return res;
}

/** fc.assert, but the failure names the request and the seed without dumping megabyte-sized counterexamples. */
async function check(property: fc.IAsyncProperty<any>, numRuns: number) {
  const details = await fc.check(property, { numRuns, seed: SEED, endOnFailure: true });
  if (details.failed) {
    const err = details.errorInstance as Error | undefined;
    throw new Error(`${(err?.message ?? String(details.errorInstance)).slice(0, 2000)}\n(replay: DAR_FUZZ_SEED=${details.seed}; path ${details.counterexamplePath})`);
  }
}

beforeAll(async () => {
  r = await testRegister();
  await mintTokens();
  const doc = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
  for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
    for (const [method, op] of Object.entries<any>(ops)) {
      const params = (op.parameters ?? []) as Schema[];
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
        query: params.filter((p) => p.in === 'query'),
        body: op.requestBody?.content?.['application/json']?.schema ?? null,
      });
    }
  }
  tables = (r.reg.sqlite.prepare("select name from sqlite_master where type = 'table' and name not like 'sqlite_%' order by name").all() as { name: string }[]).map((t) => t.name);
  baseline = checksum();
});

afterAll(async () => {
  await r?.close();
});

describe('fuzz: hostile requests to every OpenAPI operation', () => {
  it('lists the operations to fuzz', () => {
    expect(operations.length).toBeGreaterThan(40);
  });

  it(`never answers 5xx; every 4xx is an error envelope and changes nothing (${RUNS} runs)`, { timeout: 300_000 }, async () => {
    const opArb = fc.constantFrom(...operations).chain((op) => requestArb(op).map((req) => ({ op, req })));
    await check(
      fc.asyncProperty(opArb, async ({ op, req }) => {
        const url = req.path + (req.query ? `?${req.query}` : '');
        const headers: Record<string, string> = { ...authHeader(req.auth) };
        let payload: string | undefined;
        if (req.body) {
          payload = req.body.raw ?? JSON.stringify(req.body.json);
          if (req.contentType) headers['content-type'] = req.contentType;
        }
        await send(op.method, url, headers, payload);
      }),
      RUNS,
    );
  });

  it('raw garbage on every method of a few routes', { timeout: 120_000 }, async () => {
    const methods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];
    await check(
      fc.asyncProperty(fc.constantFrom(...methods), fc.constantFrom(...operations.map((o) => o.path)), nastyString, authArb, async (method, path, garbage, auth) => {
        const url = path.replace(/\{[^}]+\}/g, enc(garbage));
        await send(method, url, { ...authHeader(auth), 'content-type': 'application/json' }, method === 'GET' || method === 'OPTIONS' ? undefined : garbage);
      }),
      Math.max(100, Math.floor(RUNS / 5)),
    );
  });

  it('the register still answers normally and no prototype was polluted', async () => {
    // (Tokens are minted: a fuzzed POST /self/rotate-secret may have changed a demo secret.)
    const get = (as: string, url: string) => r.app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${tokens[as]}` } });
    const ok = await get('bright_energy', `/v1/meter-points/${r.demo!.mpxn}/access-records`);
    expect(ok.statusCode).toBe(200);
    expect(ok.json()['access-records'].length).toBeGreaterThan(0);
    baseline = checksum(); // a listing is audited (meter-point.viewed), so it writes
    const verify = await get('admin_ops', '/v1/admin/audit/verify');
    expect(verify.json().intact).toBe(true);
    expect(r.reg.sqlite.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(stats.requests).toBeGreaterThan(RUNS);
    console.info(`fuzz: ${stats.requests} requests; by status ${JSON.stringify(Object.fromEntries([...stats.byStatus].sort((a, b) => a[0] - b[0])))}`);
    // Most requests must be rejected: the fuzzer is doing its job.
    const fourxx = [...stats.byStatus].filter(([s]) => s >= 400 && s < 500).reduce((n, [, c]) => n + c, 0);
    expect(fourxx).toBeGreaterThan(stats.requests * 0.5);
  });
});

describe('fuzz regressions', () => {
  // Found by the fuzzer: Fastify's router answered these in its own format, not the envelope.
  it('a malformed %-escape in the path → 400 in the error envelope', async () => {
    const res = await send('POST', '/v1/admin/records/%/revoke', { authorization: `Bearer ${tokens.admin_ops}`, 'content-type': 'application/json' }, '{}');
    expect(res.statusCode).toBe(400);
    expect(res.json().errors[0]).toEqual({ 'error-code': 'VAL001', message: 'The request URL is malformed (invalid percent-encoding)' });
  });

  it('an over-long path parameter → 414 in the error envelope', async () => {
    const res = await send('GET', `/v1/access-records/${'a'.repeat(5000)}`, {});
    expect(res.statusCode).toBe(414);
    expect(res.json().errors[0]['error-code']).toBe('VAL001');
  });
});
