import { SignJWT, UnsecuredJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRegister, type TestRegister } from './support/register.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('authentication (contract §2)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const login = (authorization?: string) => r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: authorization ? { authorization } : {} });

  it('issues an HS256 JWT with sub, duid, role, iat, exp=iat+7200, jti', async () => {
    const res = await login(basic('bright_energy', 'bright-secret-demo'));
    expect(res.statusCode).toBe(200);
    const body = res.json();
    expect(body.expires).toBe(7200);
    const [header, payload] = body['bearer-token']
      .split('.')
      .slice(0, 2)
      .map((p: string) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    expect(header.alg).toBe('HS256');
    expect(payload.sub).toBe('bright_energy');
    expect(payload.role).toBe('data_user');
    expect(payload.duid).toMatch(/^duid_[0-9a-f]{24}$/);
    expect(payload.exp - payload.iat).toBe(7200);
    expect(typeof payload.jti).toBe('string');
    expect(body.response.resource).toBe('/v1/auth/token');
  });

  it('401 AUTH004 for missing or malformed Basic credentials', async () => {
    for (const h of [undefined, 'Bearer abc', 'Basic !!!', basic('', 'secret-without-account'), `Basic ${Buffer.from('onlyid').toString('base64')}`]) {
      const res = await login(h);
      expect(res.statusCode).toBe(401);
      expect(res.json().errors[0]['error-code']).toBe('AUTH004');
    }
  });

  it('401 AUTH005 with the same message for an unknown account and a wrong secret', async () => {
    const a = await login(basic('nobody_here', 'whatever-secret'));
    const b = await login(basic('octopusflux', 'wrong-secret'));
    expect(a.statusCode).toBe(401);
    expect(b.statusCode).toBe(401);
    expect(a.json().errors[0]).toEqual(b.json().errors[0]);
    expect(a.json().errors[0]['error-code']).toBe('AUTH005');
  });

  it('bearer errors: AUTH001 missing/malformed, AUTH002 bad signature, alg none, expired, unknown account', async () => {
    const call = (authorization?: string) => r.app.inject({ method: 'GET', url: '/v1/self', headers: authorization ? { authorization } : {} });
    expect((await call()).json().errors[0]['error-code']).toBe('AUTH001');
    expect((await call('Token abc')).json().errors[0]['error-code']).toBe('AUTH001');

    const good = await r.token('bright_energy');
    const [h, p, s] = good.split('.');
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), role: 'admin' })).toString('base64url')}.${s}`;
    const none = new UnsecuredJWT({ role: 'admin' }).setSubject('admin_ops').setIssuedAt().setExpirationTime('1h').encode();
    const otherKey = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('admin_ops').setIssuedAt().setExpirationTime('1h').sign(Buffer.alloc(32, 7));
    const expired = await new SignJWT({ role: 'data_user' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bright_energy').setIssuedAt(1_000).setExpirationTime(8_200).sign(r.reg.keys.jwtSecret);
    const ghost = await new SignJWT({ role: 'admin' }).setProtectedHeader({ alg: 'HS256' }).setSubject('ghost_account').setIssuedAt().setExpirationTime('1h').sign(r.reg.keys.jwtSecret);
    for (const t of [tampered, none, otherKey, expired, ghost]) {
      const res = await call(`Bearer ${t}`);
      expect(res.statusCode).toBe(401);
      expect(res.json().errors[0]['error-code']).toBe('AUTH002');
    }
  });

  it('403 AUTH003 for the wrong role', async () => {
    const res = await r.call('provider_ops', 'GET', '/v1/records');
    expect(res.status).toBe(403);
    expect(res.body.errors[0]['error-code']).toBe('AUTH003');
  });

  it('suspension takes effect immediately, on login (AUTH006) and on existing tokens', async () => {
    await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': 'soon_suspended', 'secret-key': 'a-long-enough-secret', 'display-name': 'Soon Suspended Ltd', role: 'data_user' });
    const token = (await login(basic('soon_suspended', 'a-long-enough-secret'))).json()['bearer-token'];
    const before = await r.app.inject({ method: 'GET', url: '/v1/self', headers: { authorization: `Bearer ${token}` } });
    expect(before.statusCode).toBe(200);
    expect((await r.call('admin_ops', 'POST', '/v1/admin/accounts/soon_suspended/suspend')).status).toBe(200);
    const after = await r.app.inject({ method: 'GET', url: '/v1/self', headers: { authorization: `Bearer ${token}` } });
    expect(after.statusCode).toBe(401);
    expect(after.json().errors[0]['error-code']).toBe('AUTH006');
    const relogin = await login(basic('soon_suspended', 'a-long-enough-secret'));
    expect(relogin.statusCode).toBe(401);
    expect(relogin.json().errors[0]['error-code']).toBe('AUTH006');
  });

  it('rate-limits repeated failed logins with 429 RATE001', async () => {
    let last;
    for (let i = 0; i < 11; i++) last = await login(basic('greenswitch', `wrong-${i}`));
    expect(last!.statusCode).toBe(429);
    expect(last!.json().errors[0]['error-code']).toBe('RATE001');
    expect(last!.headers['retry-after']).toBeDefined();
    // Even the right secret is refused while blocked.
    expect((await login(basic('greenswitch', 'greenswitch-secret-demo'))).statusCode).toBe(429);
  });

  it('rotating the secret returns a new one once and the old one stops working at once', async () => {
    const res = await r.call('octopusflux', 'POST', '/v1/self/rotate-secret');
    expect(res.status).toBe(200);
    const secret = res.body['secret-key'];
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect((await login(basic('octopusflux', 'octopus-secret-demo'))).statusCode).toBe(401);
    expect((await login(basic('octopusflux', secret))).statusCode).toBe(200);
  });

  it('GET /self returns the account without any secret material', async () => {
    const res = await r.call('bright_energy', 'GET', '/v1/self');
    expect(res.status).toBe(200);
    expect(res.body.account['account-id']).toBe('bright_energy');
    expect(res.body.account['organisation-reference']).toBe('SEC-OU-00101');
    expect(JSON.stringify(res.body)).not.toMatch(/scrypt|secret-hash|bright-secret-demo/);
  });
});
