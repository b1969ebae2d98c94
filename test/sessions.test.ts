/**
 * Sessions end when they should (docs/security.md): a bearer token issued before a secret
 * rotation (self or admin), a suspension, a termination or an administrator's "sign out
 * everywhere" answers 401, even after reactivation; a token without `exp` answers 401.
 */
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issueToken } from '../src/server/http/auth.js';
import { testRegister, type TestRegister } from './support/register.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

describe('bearer sessions end on rotation, suspension, termination and sign-out everywhere', () => {
  let r: TestRegister;
  let n = 0;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  const login = async (id: string, secret: string): Promise<string> => {
    const res = await r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: basic(id, secret) } });
    expect(res.statusCode, res.body).toBe(200);
    return res.json()['bearer-token'];
  };
  const self = (token: string) => r.app.inject({ method: 'GET', url: '/v1/self', headers: { authorization: `Bearer ${token}` } });
  const admin = (method: string, url: string) => r.call('admin_ops', method, url);

  /** A fresh data_user account (so tests do not share state) and its secret. */
  async function account(): Promise<{ id: string; secret: string }> {
    const id = `session_user_${++n}`;
    const secret = `a-long-enough-secret-${n}`;
    const res = await r.call('admin_ops', 'POST', '/v1/admin/accounts', { 'account-id': id, 'secret-key': secret, 'display-name': `Session User ${n} Ltd`, role: 'data_user' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    return { id, secret };
  }

  it('self secret rotation: the token used to rotate, and every other earlier token, answer 401; a new sign-in works', async () => {
    const { id, secret } = await account();
    const a = await login(id, secret);
    const b = await login(id, secret);
    const rotated = await r.app.inject({ method: 'POST', url: '/v1/self/rotate-secret', headers: { authorization: `Bearer ${a}` } });
    expect(rotated.statusCode).toBe(200);
    for (const t of [a, b]) {
      const res = await self(t);
      expect(res.statusCode).toBe(401);
      expect(res.json().errors[0]['error-code']).toBe('AUTH002');
    }
    const fresh = await login(id, rotated.json()['secret-key']);
    expect((await self(fresh)).statusCode).toBe(200);
  });

  it('admin secret rotation ends the account’s tokens', async () => {
    const { id, secret } = await account();
    const t = await login(id, secret);
    expect((await self(t)).statusCode).toBe(200);
    const res = await admin('POST', `/v1/admin/accounts/${id}/rotate-secret`);
    expect(res.status).toBe(200);
    expect((await self(t)).statusCode).toBe(401);
    expect((await self(await login(id, res.body['secret-key']))).statusCode).toBe(200);
  });

  it('suspension ends tokens for good: after reactivation the old token still answers 401, a new sign-in works', async () => {
    const { id, secret } = await account();
    const t = await login(id, secret);
    expect((await admin('POST', `/v1/admin/accounts/${id}/suspend`)).status).toBe(200);
    expect((await self(t)).statusCode).toBe(401);
    expect((await admin('POST', `/v1/admin/accounts/${id}/reactivate`)).status).toBe(200);
    const res = await self(t);
    expect(res.statusCode).toBe(401);
    expect(res.json().errors[0]['error-code']).toBe('AUTH002');
    expect((await self(await login(id, secret))).statusCode).toBe(200);
  });

  it('termination ends tokens', async () => {
    const { id, secret } = await account();
    const t = await login(id, secret);
    expect((await admin('POST', `/v1/admin/accounts/${id}/terminate`)).status).toBe(200);
    expect((await self(t)).statusCode).toBe(401);
    expect((await r.svc.accounts.get(id)).tokensValidAfter).toBeGreaterThan(0);
  });

  it('POST /v1/admin/accounts/{id}/sign-out-everywhere: admin only, audited, ends earlier tokens but not the secret', async () => {
    const { id, secret } = await account();
    const t1 = await login(id, secret);
    const t2 = await login(id, secret);
    const denied = await r.app.inject({ method: 'POST', url: `/v1/admin/accounts/${id}/sign-out-everywhere`, headers: { authorization: `Bearer ${t1}` } });
    expect(denied.statusCode).toBe(403);
    expect((await self(t1)).statusCode).toBe(200);

    const res = await admin('POST', `/v1/admin/accounts/${id}/sign-out-everywhere`);
    expect(res.status).toBe(200);
    expect(res.body.account['account-id']).toBe(id);
    expect(res.body.account.status).toBe('active');
    for (const t of [t1, t2]) expect((await self(t)).statusCode).toBe(401);
    expect((await self(await login(id, secret))).statusCode).toBe(200);

    const audit = await admin('GET', `/v1/admin/audit?event-type=account.signed-out-everywhere&account-id=${id}`);
    expect(audit.body.events).toHaveLength(1);
    expect(audit.body.events[0]).toMatchObject({ actor: 'admin_ops', subject: id });
    expect((await admin('POST', '/v1/admin/accounts/no_such_account/sign-out-everywhere')).status).toBe(404);
    const doc = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(doc.paths['/v1/admin/accounts/{id}/sign-out-everywhere'].post.security).toEqual([{ bearer: [] }]);
  });

  it('within one second (JWT iat resolution): tokens issued before a sign-out answer 401, tokens issued after it work', async () => {
    const { id } = await account();
    let sameSecond = 0;
    let sameMillisecond = 0;
    for (let i = 0; i < 40; i++) {
      const before = await issueToken(r.reg, await r.svc.accounts.get(id));
      const t0 = Date.now();
      await r.svc.accounts.signOutEverywhere('admin_ops', id);
      const after = await issueToken(r.reg, await r.svc.accounts.get(id));
      const t1 = Date.now();
      if (Math.floor(t0 / 1000) === Math.floor(t1 / 1000)) sameSecond++;
      if (t0 === t1) sameMillisecond++;
      expect((await self(before)).statusCode, `iteration ${i}`).toBe(401);
      expect((await self(after)).statusCode, `iteration ${i}`).toBe(200);
    }
    // The loop is fast: most rounds share the second, and usually the millisecond.
    expect(sameSecond).toBeGreaterThan(20);
    console.info(`sessions: ${sameSecond}/40 rounds within one second, ${sameMillisecond}/40 within one millisecond`);
  });

  it('a sign-out that lands while a sign-in is being checked ends that sign-in’s token too', async () => {
    const { id, secret } = await account();
    // The secret check (scrypt) takes tens of milliseconds; sign out while it runs.
    const pending = r.app.inject({ method: 'GET', url: '/v1/auth/token', headers: { authorization: basic(id, secret) } });
    await new Promise((res) => setTimeout(res, 5));
    await r.svc.accounts.signOutEverywhere('admin_ops', id);
    const res = await pending;
    expect(res.statusCode).toBe(200);
    expect((await self(res.json()['bearer-token'])).statusCode).toBe(401);
    expect((await self(await login(id, secret))).statusCode).toBe(200);
  });

  it('a token without the millisecond claim, issued in the second of a sign-out, answers 401', async () => {
    const { id, secret } = await account();
    await login(id, secret);
    await r.svc.accounts.signOutEverywhere('admin_ops', id);
    const iat = Math.floor(Date.now() / 1000);
    const legacy = await new SignJWT({ role: 'data_user' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(id)
      .setIssuedAt(iat)
      .setExpirationTime(iat + 600)
      .sign(r.reg.keys.jwtSecret);
    expect((await self(legacy)).statusCode).toBe(401);
  });

  it('a JWT without exp answers 401 AUTH002, even when correctly signed', async () => {
    const noExp = await new SignJWT({ role: 'data_user' }).setProtectedHeader({ alg: 'HS256' }).setSubject('bright_energy').setIssuedAt().sign(r.reg.keys.jwtSecret);
    const res = await self(noExp);
    expect(res.statusCode).toBe(401);
    expect(res.json().errors[0]['error-code']).toBe('AUTH002');
    // And again (the verified-token cache must not let it through on a second use).
    expect((await self(noExp)).statusCode).toBe(401);
  });

  it('the portal keeps working after its own account is signed out everywhere (it signs in again)', async () => {
    const before = await r.app.inject({ method: 'GET', url: '/portal?mpxn=2312345678901' });
    expect(before.statusCode).toBe(200);
    expect(before.body).toContain('Email me a link');
    expect((await admin('POST', '/v1/admin/accounts/portal_ops/sign-out-everywhere')).status).toBe(200);
    const after = await r.app.inject({ method: 'GET', url: '/portal?mpxn=2312345678901' });
    expect(after.statusCode).toBe(200);
    expect(after.body).toContain('Email me a link');
  });
});
