/**
 * The black-box API behaves the same on both engines (docs/deploying.md): the demo walkthrough
 * run against a register on SQLite and one on PostgreSQL gives the same responses, once parsed,
 * key order included. What is generated per run (ids, keys, tokens, instants, transaction ids)
 * is replaced by a name given in order of first appearance, so "the ak created in step 3 is the
 * one listed in step 5" still has to hold on both.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailable, testDatabase, type TestDatabase } from './support/postgres.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

type Step = { as: string | null; method: string; url: string | ((ctx: Record<string, string>) => string); body?: unknown | ((ctx: Record<string, string>) => unknown); keep?: (body: any) => Record<string, string> };

/** The walkthrough: what a Data User, the portal, support and an administrator do on the demo data. */
const WALKTHROUGH: Step[] = [
  { as: 'octopusflux', method: 'GET', url: '/v1/self', keep: (b) => ({ duid: b.account.duid }) },
  { as: 'bright_energy', method: 'GET', url: (c) => `/v1/data-users/${c.duid}` },
  { as: 'bright_energy', method: 'GET', url: '/v1/meter-points/2312345678901/access-records' },
  { as: 'bright_energy', method: 'GET', url: '/v1/records?limit=10' },
  { as: 'bright_energy', method: 'GET', url: '/v1/identity-records/exists?mpxn=2312345678901' },
  {
    as: 'bright_energy',
    method: 'POST',
    url: '/v1/identity-records',
    body: { 'pii-principal': { mpxn: '1912345678905', 'move-in-date': '2024-01-01', address: { addressLine1: '1 Parity Road', townCity: 'Leeds', postcode: 'LS1 1AA' } }, email: 'parity@example.com', 'expressed-by': 'data-subject' },
    keep: (b) => ({ ir: b.ir }),
  },
  { as: 'bright_energy', method: 'POST', url: '/v1/access-records', body: (c: Record<string, string>) => consentBody(c.ir), keep: (b) => ({ ak: b['access-token'].key }) },
  { as: null, method: 'GET', url: (c) => `/v1/access-records/${c.ak}` },
  { as: 'bright_energy', method: 'GET', url: (c) => `/v1/identity-records/${c.ir}` },
  { as: 'octopusflux', method: 'POST', url: '/v1/identity-records/reidentify', body: { mpxn: '2312345678901', method: 'magic-link' } },
  { as: 'bright_energy', method: 'DELETE', url: (c) => `/v1/access-records/${c.ak}?reason=customer-request` },
  { as: null, method: 'GET', url: (c) => `/v1/access-records/${c.ak}` },
  { as: 'admin_ops', method: 'GET', url: '/v1/admin/accounts' },
  { as: 'admin_ops', method: 'GET', url: '/v1/admin/records?limit=20' },
  { as: 'admin_ops', method: 'GET', url: '/v1/admin/records?q=bright&limit=5' },
  { as: 'admin_ops', method: 'GET', url: '/v1/admin/identity-records?mpxn=2312345678901' },
  { as: 'admin_ops', method: 'GET', url: '/v1/admin/reidentifications?limit=5' },
  { as: 'admin_ops', method: 'GET', url: '/v1/admin/audit?limit=30' },
  { as: 'admin_ops', method: 'GET', url: '/v1/admin/stats' },
  { as: 'support_desk', method: 'GET', url: '/v1/admin/identity-records?mpxn=1912345678905' },
  { as: 'dcc_system', method: 'POST', url: '/v1/cot-events', body: { mpxn: '2312345678901', 'effective-date': '2026-01-01', 'source-reference': 'cot-parity-1' } },
  { as: 'bright_energy', method: 'GET', url: '/v1/identity-records/exists?mpxn=2312345678901' },
  { as: 'bright_energy', method: 'GET', url: '/v1/meter-points/2312345678901/access-records' },
];

/** Replaces what differs per run by names given in order of first appearance. */
function normaliser() {
  const names = new Map<string, string>();
  const name = (kind: string, v: string) => {
    if (!names.has(v)) names.set(v, `<${kind}${names.size + 1}>`);
    return names.get(v)!;
  };
  const walk = (v: unknown): unknown => {
    // A list of generated ids in the order of their values (e.g. DUIDs sorted) comes out in
    // another order on each run, whichever the engine: compared as a set.
    if (Array.isArray(v)) {
      const out = v.map(walk);
      return out.every((x) => typeof x === 'string' && /^<id\d+>$/.test(x)) ? [...out].sort() : out;
    }
    if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    if (typeof v !== 'string') return v;
    if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v)) return '<instant>';
    if (/^(tid|ak|ir|duid|mlr|wid|evt|pkr|mr)_[A-Za-z0-9]+$/.test(v) || /^[A-Za-z0-9_-]{24,}$/.test(v) || /^[0-9a-f]{8}-[0-9a-f]{4}-/.test(v)) return name('id', v);
    // Ids inside text (a resource path, a link): the same names.
    return v.replace(/\b(tid|ak|ir|duid|mlr|wid|evt|pkr|mr)_[A-Za-z0-9]+/g, (m) => name('id', m));
  };
  return walk;
}

describe.skipIf(!postgresAvailable())('the same API on SQLite and PostgreSQL', () => {
  let lite: TestRegister;
  let pg: TestRegister;
  let d: TestDatabase;
  beforeAll(async () => {
    d = await testDatabase('engine_parity');
    lite = await testRegister({ databaseUrl: null });
    pg = await testRegister({ databaseUrl: d.url });
  });
  afterAll(async () => {
    await lite?.close();
    await pg?.close();
    await d?.drop();
  });

  it('the demo walkthrough answers the same, once parsed, key order included', async () => {
    const run = async (r: TestRegister) => {
      const ctx: Record<string, string> = {};
      const out: unknown[] = [];
      for (const s of WALKTHROUGH) {
        const url = typeof s.url === 'function' ? s.url(ctx) : s.url;
        const body = typeof s.body === 'function' ? (s.body as (c: Record<string, string>) => unknown)(ctx) : s.body;
        const res = await r.call(s.as, s.method, url, body);
        if (s.keep && res.status < 300) Object.assign(ctx, s.keep(res.body));
        out.push({ step: `${s.as ?? 'anonymous'} ${s.method} ${typeof s.url === 'function' ? s.url({ ak: ':ak', ir: ':ir', duid: ':duid' }) : s.url}`, status: res.status, body: res.body });
      }
      return normaliser()(out) as { step: string; status: number; body: unknown }[];
    };
    const a = await run(lite);
    const b = await run(pg);
    if (process.env.PARITY_DEBUG)
      for (let i = 0; i < a.length; i++)
        console.log(
          a[i].step,
          a[i].status,
          b[i].status,
          a[i].status >= 400 ? JSON.stringify(a[i].body).slice(0, 300) : '',
          JSON.stringify(a[i].body) === JSON.stringify(b[i].body) ? 'same' : `DIFF\n  ${JSON.stringify(a[i].body).slice(0, 600)}\n  ${JSON.stringify(b[i].body).slice(0, 600)}`,
        );
    for (let i = 0; i < a.length; i++) {
      expect(a[i].status, a[i].step).toBeLessThan(500);
      // JSON text, so key order counts.
      expect(JSON.stringify(b[i]), a[i].step).toBe(JSON.stringify(a[i]));
    }
  });
});
