/**
 * [ours] The anonymous /portal e-mail allowance of everyone together counts only starts that
 * actually sent an e-mail (docs/security.md, limits): attempts on unregistered meter points,
 * which send nothing, cannot use it up and lock every customer out of e-mail confirmation.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRegister, type TestRegister } from './support/register.js';

/** POST /portal/start from one client address (inject's remoteAddress is the socket address). */
async function startFrom(r: TestRegister, address: string, fields: Record<string, string>) {
  const entry = await r.app.inject({ method: 'GET', url: '/portal', remoteAddress: address });
  const csrf = /name="csrf" value="([^"]+)"/.exec(entry.body)![1];
  const set = entry.headers['set-cookie'];
  const cookie = (Array.isArray(set) ? set : [String(set)]).map((c) => c.split(';')[0]).join('; ');
  return r.app.inject({
    method: 'POST',
    url: '/portal/start',
    remoteAddress: address,
    headers: { cookie, origin: r.reg.origin, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ csrf, ...fields }).toString(),
  });
}

describe('[ours] anonymous /portal e-mail starts: only e-mails sent count for everyone together', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
    Object.assign(r.svc.reidentification.anonymousLimits, { emailPerAddress: 3, emailGlobal: 4 });
  });
  afterAll(() => r.close());

  it('many addresses trying unregistered meter points do not block a real customer', async () => {
    // 6 addresses × 3 attempts = 18 starts, far above the global allowance of 4; none sends an e-mail.
    for (let a = 0; a < 6; a++) {
      for (let i = 0; i < 3; i++) {
        const res = await startFrom(r, `203.0.113.${10 + a}`, { mpxn: `17300000${a}${i}`, method: 'magic-link' });
        expect(res.statusCode).toBe(400);
        expect(res.body).toContain('No energy company has registered');
      }
    }
    // The per-address brake still holds for one address that keeps probing.
    expect((await startFrom(r, '203.0.113.10', { mpxn: '1730000099', method: 'magic-link' })).statusCode).toBe(429);

    const mpxns = ['1730000101', '1730000102', '1730000103', '1730000104', '1730000105'];
    for (const mpxn of mpxns) {
      expect((await r.call('bright_energy', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn, 'move-in-date': '2023-01-01' }, 'expressed-by': 'data-subject', email: `c${mpxn}@example.org` })).status).toBe(201);
    }
    const customer = await startFrom(r, '198.51.100.20', { mpxn: mpxns[0], method: 'magic-link' });
    expect(customer.statusCode).toBe(200);
    expect(customer.body).toContain('Check your email');
    // Starts that sent an e-mail do count: four in the window, then the fifth waits.
    for (const [i, mpxn] of mpxns.slice(1, 4).entries()) expect((await startFrom(r, `198.51.100.${30 + i}`, { mpxn, method: 'magic-link' })).statusCode).toBe(200);
    const fifth = await startFrom(r, '198.51.100.40', { mpxn: mpxns[4], method: 'magic-link' });
    expect(fifth.statusCode).toBe(429);
    expect(Number(fifth.headers['retry-after'])).toBeGreaterThan(0);
  });
});
