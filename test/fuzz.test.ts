/**
 * Hostile input, property-based (docs/performance.md "Hostile input"): thousands of invalid and adversarial requests
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
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../src/server/http/auth.js';
import { testRegister, type TestRegister } from './support/register.js';

const RUNS = Number(process.env.DAR_FUZZ_RUNS ?? 1500);
const SEED = process.env.DAR_FUZZ_SEED ? Number(process.env.DAR_FUZZ_SEED) : undefined;
const ROLES = ['admin_ops', 'support_desk', 'bright_energy', 'octopusflux', 'provider_ops', 'dcc_system', 'portal_ops'] as const;

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  pathParams: string[];
  query: Schema[];
  body: Schema | null;
}

let r: TestRegister;
const operations: Operation[] = [];
let tokens: Record<string, string> = {};
let baseline = '';
const stats = { requests: 0, byStatus: new Map<number, number>() };

/**
 * Refusals the register records on purpose (docs/security.md "What the audit records"): a failed
 * sign-in is audited with the client address, so a 4xx from POST/GET /v1/auth/token may append it.
 * Nothing else a 4xx does may show in the checksum.
 */
const AUDITED_REFUSALS = ['account.login-failed'];
/**
 * Refusals counted on purpose: a failed sign-in adds to the throttling count, which lives in the
 * database so every node sees it (docs/security.md "Sign-in throttling").
 */
const COUNTED_REFUSALS_TABLE = 'sign_in_failures';

/** Every table's rows, hashed (but the audited refusals): a 4xx must leave this unchanged. */
function checksum(): Promise<string> {
  return r.probe.fingerprint(AUDITED_REFUSALS, [COUNTED_REFUSALS_TABLE]);
}

/** Tokens minted directly (no scrypt), so they can be refreshed cheaply if a 2xx moved the clock. */
async function mintTokens() {
  tokens = {};
  for (const id of ROLES) tokens[id] = await issueToken(r.reg, await r.svc.accounts.get(id));
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
    arbitrary: fc
      .constantFrom('Bearer ', 'Bearer a.b.c', 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbl9vcHMifQ.', 'Basic YWRtaW5fb3BzOmFkbWluLXNlY3JldC1kZW1v', 'Basic !!!', 'Bearer 💥', `Bearer ${'x'.repeat(9000)}`, 'bearer', 'Digest x')
      .map((header) => ({ kind: 'raw', header })),
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
        {
          weight: 6,
          arbitrary: fromSchema(op.body)
            .chain(mutate)
            .map((json) => ({ json })),
        },
        { weight: 1, arbitrary: fc.constant(null) },
        {
          weight: 2,
          arbitrary: fc
            .constantFrom('{', '{"a":', '[1,2', 'null', '"string"', '12', '{"__proto__":{"admin":true}}', '{"a":1,"a":2}', '\u0000', '{"x":"\\ud800"}', '['.repeat(10_000) + ']'.repeat(10_000), `{"big":"${'y'.repeat(300_000)}"}`)
            .map((raw) => ({ raw })),
        },
      )
    : fc.oneof(
        fc.constant(null),
        weirdValue.map((json) => ({ json })),
      );
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
    expect(await checksum(), `4xx changed data: ${where}`).toBe(before);
  } else {
    // A request that happened to be valid: it may change data; carry on from the new state.
    baseline = await checksum();
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

/**
 * Left out of the schema-driven property: with a valid body (`{"seed":"empty"}` is one of two
 * enum values) these replace the whole data set on purpose, after which the final checks' demo
 * records are gone. Their hostile input is tested in sandbox-hostile and sandbox-snapshots, and
 * garbage still reaches them through the raw-garbage property.
 */
const REPLACES_EVERYTHING = ['POST /v1/admin/sandbox/reset', 'POST /v1/admin/sandbox/snapshots/{id}/restore'];

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
  // The search index is derived from access_records, which is checked (probe.tables() leaves it out).
  baseline = await checksum();
});

afterAll(async () => {
  await r?.close();
});

describe('fuzz: hostile requests to every OpenAPI operation', () => {
  it('lists the operations to fuzz', () => {
    expect(operations.length).toBeGreaterThan(40);
    // The left-out operations exist under these names (a renamed route must not slip back in unseen).
    expect(operations.filter((op) => REPLACES_EVERYTHING.includes(`${op.method} ${op.path}`))).toHaveLength(REPLACES_EVERYTHING.length);
  });

  it(`never answers 5xx; every 4xx is an error envelope and changes nothing (${RUNS} runs)`, { timeout: 300_000 }, async () => {
    const opArb = fc.constantFrom(...operations.filter((op) => !REPLACES_EVERYTHING.includes(`${op.method} ${op.path}`))).chain((op) => requestArb(op).map((req) => ({ op, req })));
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
    baseline = await checksum(); // a listing is audited (meter-point.viewed), so it writes
    const verify = await get('admin_ops', '/v1/admin/audit/verify');
    expect(verify.json().intact).toBe(true);
    expect(await r.probe.intact()).toBe(true);
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

  // Found by an outside tester: Ajv's coercion read "1e309" / "Infinity" as a number and then
  // skipped minimum/maximum, so the value reached SQLite (500). Every integer or number query
  // parameter of every operation, for every role: never 5xx, and 400 for a role that may call it.
  it('non-finite, exponent, hex, padded and negative-zero numbers in every numeric query parameter → 4xx', async () => {
    const HOSTILE = ['1e309', 'Infinity', '-Infinity', 'NaN', '1e3', '-0', '0x10', '%205', '1.5e2'];
    const numericOps = operations.filter((op) => op.query.some((q) => q.schema?.type === 'integer' || q.schema?.type === 'number'));
    expect(numericOps.length).toBeGreaterThanOrEqual(10);
    for (const op of numericOps) {
      const path = op.path.replace('{mpxn}', r.demo!.mpxn).replace(/\{[^}]+\}/g, 'x');
      for (const q of op.query.filter((q) => q.schema?.type === 'integer' || q.schema?.type === 'number')) {
        for (const v of HOSTILE) {
          const statuses: number[] = [];
          for (const role of ROLES) {
            const res = await send(op.method, `${path}?${q.name}=${v}`, { authorization: `Bearer ${tokens[role]}` });
            expect(res.statusCode, `${op.method} ${path}?${q.name}=${v} as ${role}`).toBeGreaterThanOrEqual(400);
            statuses.push(res.statusCode);
          }
          expect(statuses, `${op.method} ${path}?${q.name}=${v}: some role reaches validation`).toContain(400);
        }
      }
    }
  });

  it('an over-long path parameter → 414 in the error envelope', async () => {
    const res = await send('GET', `/v1/access-records/${'a'.repeat(5000)}`, {});
    expect(res.statusCode).toBe(414);
    expect(res.json().errors[0]['error-code']).toBe('VAL001');
  });
});

/**
 * Authorization before validation (docs/security.md): for every operation and every caller
 * who may not use it — anonymous, a broken token, an `alg: none` token, a token without
 * `exp`, a suspended account, a signed-out token, each wrong role — the answer is 401 or 403
 * whatever the input, never 400 (nor 415): the caller learns nothing about the input rules.
 * Each invalid input is first shown to answer 400 (or 415) for a caller who may use the route.
 */
describe('fuzz: authentication and role come before validation, for every route and role', () => {
  type Role = 'admin' | 'support' | 'data_user' | 'data_provider' | 'dcc' | 'portal';
  const ALL: Role[] = ['admin', 'support', 'data_user', 'data_provider', 'dcc', 'portal'];
  /** What support staff may do in /v1/admin: read, and run the re-identification desk (contract §2). */
  const SUPPORT_OPS = new Set([
    'GET /v1/admin/identity-records',
    'GET /v1/admin/identity-records/exists',
    'GET /v1/admin/identity-records/export.csv',
    'GET /v1/admin/identity-records/{ir}',
    'GET /v1/admin/reidentifications',
    'GET /v1/admin/reidentifications/export.csv',
    'GET /v1/admin/reidentifications/{tokenRef}',
    'POST /v1/admin/reidentifications',
    'POST /v1/admin/reidentifications/{tokenRef}/cancel',
    'GET /v1/admin/records',
    'GET /v1/admin/records/{ak}',
    'GET /v1/admin/records/export.csv',
    'GET /v1/admin/discovered-access',
    'GET /v1/admin/audit',
    'GET /v1/admin/audit/export.csv',
    'GET /v1/admin/audit/verify',
    'GET /v1/admin/stats',
    'GET /v1/admin/accounts',
    'GET /v1/admin/accounts/{id}',
  ]);
  const DU_PORTAL: Role[] = ['data_user', 'portal'];
  /** Who may call each operation (the contract), independent of how the register wires it. */
  function allowed(method: string, path: string): Role[] | 'public' | 'basic' {
    const key = `${method} ${path}`;
    if (key === 'GET /v1/auth/token') return 'basic';
    if (key === 'GET /v1/access-records/{ak}') return 'public';
    // Liveness and readiness probes answer anyone (contract §10).
    if (['/health', '/ready', '/v1/health', '/v1/ready'].includes(path)) return 'public';
    if (path.startsWith('/v1/admin/')) return SUPPORT_OPS.has(key) ? ['admin', 'support'] : ['admin'];
    if (path.startsWith('/v1/self')) return ALL;
    if (key === 'GET /v1/identity-records/exists' || key === 'POST /v1/identity-records/reidentify' || key === 'GET /v1/identity-records/reidentify/{tokenRef}' || key === 'GET /v1/identity-records/{ir}/re-identify/{tokenRef}')
      return DU_PORTAL;
    if (key === 'DELETE /v1/access-records/{ak}' || path.startsWith('/v1/meter-points/')) return DU_PORTAL;
    if (path.startsWith('/v1/identity-records') || path.startsWith('/v1/access-records') || path === '/v1/records' || path.startsWith('/v1/webhooks')) return ['data_user'];
    if (path.startsWith('/v1/data-users/')) return ['data_provider', 'data_user', 'admin'];
    if (path === '/v1/discovered-access' || path === '/v1/cot-events') return ['dcc'];
    throw new Error(`${key}: not in the role table; add it`);
  }
  const ACCOUNT_OF: Record<Role, string> = { admin: 'admin_ops', support: 'support_desk', data_user: 'bright_energy', data_provider: 'provider_ops', dcc: 'dcc_system', portal: 'portal_ops' };

  let ra: TestRegister;
  const ops: (Operation & { security: unknown })[] = [];
  const good: Record<string, string> = {};
  const suspended: Record<string, string> = {};
  const signedOut: Record<string, string> = {};
  const noExp: Record<string, string> = {};
  const algNone: Record<string, string> = {};
  const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');

  beforeAll(async () => {
    ra = await testRegister();
    const { SignJWT } = await import('jose');
    for (const role of ALL) {
      good[role] = await issueToken(ra.reg, await ra.svc.accounts.get(ACCOUNT_OF[role]));
      const now = Math.floor(Date.now() / 1000);
      noExp[role] = await new SignJWT({ role }).setProtectedHeader({ alg: 'HS256' }).setSubject(ACCOUNT_OF[role]).setIssuedAt(now).sign(ra.reg.keys.jwtSecret);
      algNone[role] = `${b64({ alg: 'none', typ: 'JWT' })}.${b64({ sub: ACCOUNT_OF[role], role, iat: now, exp: now + 3600 })}.`;
      for (const [kind, store] of [
        ['suspended', suspended],
        ['signedout', signedOut],
      ] as const) {
        const id = `${kind}_${role}`;
        await ra.svc.accounts.create('admin_ops', { 'account-id': id, 'display-name': `${kind} ${role} Ltd`, role, 'secret-key': 'a-long-enough-secret-key' } as never);
        store[role] = await issueToken(ra.reg, await ra.svc.accounts.get(id));
        if (kind === 'suspended') await ra.svc.accounts.setStatus('admin_ops', id, 'suspend');
        else await ra.svc.accounts.signOutEverywhere('admin_ops', id);
      }
    }
    const doc = (await ra.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    for (const [path, methods] of Object.entries<Record<string, any>>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(methods)) {
        const params = (op.parameters ?? []) as Schema[];
        ops.push({
          method: method.toUpperCase(),
          path,
          pathParams: params.filter((p) => p.in === 'path').map((p) => p.name),
          query: params.filter((p) => p.in === 'query'),
          body: op.requestBody?.content?.['application/json']?.schema ?? null,
          security: op.security,
        });
      }
    }
  });
  afterAll(async () => {
    await ra?.close();
  });

  /** Requests that are invalid for a caller who may use the operation. */
  function invalidRequests(op: Operation): { what: string; url: string; payload?: string; contentType?: string }[] {
    const validPath = op.path.replace(/\{[^}]+\}/g, 'ak_000000000000000000000000');
    const out: { what: string; url: string; payload?: string; contentType?: string }[] = [];
    if (op.pathParams.length) out.push({ what: 'bad path parameter', url: op.path.replace(/\{[^}]+\}/g, '%21'.repeat(65)) });
    if (op.query.length) out.push({ what: 'unknown query parameter', url: `${validPath}?zz-not-a-parameter=1` });
    if (op.body) {
      out.push({ what: 'empty body object', url: validPath, payload: '{"zz-not-a-field":1}', contentType: 'application/json' });
      out.push({ what: 'body of the wrong type', url: validPath, payload: '[]', contentType: 'application/json' });
      out.push({ what: 'unparseable body', url: validPath, payload: '{', contentType: 'application/json' });
      out.push({ what: 'unsupported content type', url: validPath, payload: 'x=1', contentType: 'text/plain' });
    }
    return out;
  }

  async function probe(op: Operation, req: { url: string; payload?: string; contentType?: string }, authorization?: string) {
    const headers: Record<string, string> = {};
    if (authorization) headers.authorization = authorization;
    if (req.contentType) headers['content-type'] = req.contentType;
    return ra.app.inject({ method: op.method as 'GET', url: req.url, headers, ...(req.payload !== undefined ? { payload: req.payload } : {}) });
  }

  it('every operation is in the role table, and its OpenAPI security matches it', () => {
    expect(ops.length).toBeGreaterThan(40);
    for (const op of ops) {
      const roles = allowed(op.method, op.path);
      if (roles === 'public') expect(op.security, `${op.method} ${op.path}`).toBeUndefined();
      else if (roles === 'basic') expect(op.security, `${op.method} ${op.path}`).toEqual([{ basic: [] }]);
      else expect(op.security, `${op.method} ${op.path}`).toEqual([{ bearer: [] }]);
    }
  });

  it('401 for no or bad credentials and 403 for each wrong role precede 400/415 on invalid input', { timeout: 120_000 }, async () => {
    let probes = 0;
    const failures: string[] = [];
    for (const op of ops) {
      const roles = allowed(op.method, op.path);
      if (roles === 'public' || roles === 'basic') continue;
      const requests = invalidRequests(op);
      // Operations without any input to get wrong are still probed with a plain request.
      const plain = requests.length === 0;
      if (plain) requests.push({ what: 'plain request', url: op.path });
      const owner = roles[0];
      for (const req of requests) {
        if (!plain) {
          const baseline = await probe(op, req, `Bearer ${good[owner]}`);
          // 400/415: the input is invalid. (404/403: the made-up id in the URL is not the
          // caller's, which is decided before the input too; see the ownership test below.)
          expect([400, 415, 404, 403], `${op.method} ${req.url} (${req.what}) as ${owner} should be refused: ${baseline.body.slice(0, 200)}`).toContain(baseline.statusCode);
        }
        const callers: [string, string | undefined, number][] = [
          ['anonymous', undefined, 401],
          ['malformed header', 'Bearer', 401],
          ['garbage token', 'Bearer a.b.c', 401],
          ['alg none token', `Bearer ${algNone[owner]}`, 401],
          ['token without exp', `Bearer ${noExp[owner]}`, 401],
          ['suspended account', `Bearer ${suspended[owner]}`, 401],
          ['signed-out token', `Bearer ${signedOut[owner]}`, 401],
          ['Basic credentials', `Basic ${Buffer.from(`${ACCOUNT_OF[owner]}:x`).toString('base64')}`, 401],
          ...ALL.filter((role) => !roles.includes(role)).map((role): [string, string, number] => [`wrong role ${role}`, `Bearer ${good[role]}`, 403]),
        ];
        for (const [who, authorization, expected] of callers) {
          const res = await probe(op, req, authorization);
          probes++;
          const code = res.json().errors?.[0]?.['error-code'];
          const wantCode = expected === 403 ? /^AUTH003$/ : /^AUTH00[126]$/;
          if (res.statusCode !== expected || !wantCode.test(code)) failures.push(`${op.method} ${req.url.slice(0, 80)} (${req.what}) as ${who}: ${res.statusCode} ${code}`);
        }
      }
    }
    console.info(`auth order: ${probes} probes, ${failures.length} out of order`);
    expect(failures.slice(0, 40)).toEqual([]);
    expect(probes).toBeGreaterThan(1000);
  });

  it("ownership decided by the URL precedes validation: another Data User's resources answer 404 (403 for a meter point) whatever the input", async () => {
    const octopus = await issueToken(ra.reg, await ra.svc.accounts.get('octopusflux'));
    const call = (token: string, method: string, url: string, payload?: string) =>
      ra.app.inject({ method: method as 'GET', url, headers: { authorization: `Bearer ${token}`, ...(payload !== undefined ? { 'content-type': 'application/json' } : {}) }, ...(payload !== undefined ? { payload } : {}) });
    const as = (_bright: 'bright_energy', method: string, url: string, payload?: string) => call(good.data_user, method, url, payload);
    const asOctopus = (method: string, url: string, payload?: string) => call(octopus, method, url, payload);
    const brightAk = (await as('bright_energy', 'GET', '/v1/records')).json().records[0].ak as string;
    const brightIr = ra.demo!.ir;
    const hook = await as('bright_energy', 'POST', '/v1/webhooks', JSON.stringify({ 'callback-url': 'https://example.org/hook', 'event-types': ['consent.withdrawal'], 'alert-email': 'ops@example.org' }));
    expect(hook.statusCode, hook.body).toBe(201);
    const wid = hook.json().webhook.wid as string;
    const cases: [string, string, string | undefined, number][] = [
      ['PUT', `/v1/access-records/${brightAk}`, '{}', 404],
      ['PUT', `/v1/access-records/${brightAk}`, '{', 404],
      ['DELETE', `/v1/access-records/${brightAk}`, undefined, 404],
      ['DELETE', `/v1/access-records/${brightAk}?reason=bogus`, undefined, 404],
      ['POST', `/v1/identity-records/${brightIr}/re-identify`, '{}', 404],
      ['DELETE', `/v1/identity-records/${brightIr}/credentials/not-a-credential`, undefined, 404],
      ['PATCH', `/v1/webhooks/${wid}`, '[]', 404],
      ['GET', `/v1/meter-points/${ra.demo!.mpxn}/access-records?zz-not-a-parameter=1`, undefined, 200],
      ['GET', '/v1/meter-points/9900000000001/access-records?zz-not-a-parameter=1', undefined, 403],
    ];
    for (const [method, url, payload, expected] of cases) {
      const res = await asOctopus(method, url, payload);
      // (octopusflux holds a record on the demo meter point: there its bad query is a 400.)
      expect(res.statusCode, `${method} ${url}: ${res.body.slice(0, 200)}`).toBe(expected === 200 ? 400 : expected);
    }
    // The owner, sending the same invalid input, is told about the input.
    expect((await as('bright_energy', 'PUT', `/v1/access-records/${brightAk}`, '{}')).statusCode).toBe(400);
    expect((await as('bright_energy', 'PATCH', `/v1/webhooks/${wid}`, '[]')).statusCode).toBe(400);
    expect((await as('bright_energy', 'POST', `/v1/identity-records/${brightIr}/re-identify`, '{}')).statusCode).toBe(400);
  });

  it('the examples: a data_user posting {} to /v1/discovered-access is 403; anonymous POST /v1/admin/clock {} and DELETE without ?reason= are 401', async () => {
    const discovered = await ra.app.inject({ method: 'POST', url: '/v1/discovered-access', headers: { authorization: `Bearer ${good.data_user}`, 'content-type': 'application/json' }, payload: '{}' });
    expect(discovered.statusCode).toBe(403);
    const clock = await ra.app.inject({ method: 'POST', url: '/v1/admin/clock', headers: { 'content-type': 'application/json' }, payload: '{}' });
    expect(clock.statusCode).toBe(401);
    const revoke = await ra.app.inject({ method: 'DELETE', url: '/v1/access-records/ak_000000000000000000000000' });
    expect(revoke.statusCode).toBe(401);
  });
});
