import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRegister, type TestRegister } from './support/register.js';

describe('hostile input gets a 4xx in the envelope, never a 5xx', () => {
  let r: TestRegister;
  let auth: Record<string, string>;
  beforeAll(async () => {
    r = await testRegister();
    auth = { authorization: `Bearer ${await r.token('bright_energy')}` };
  });
  afterAll(() => r.close());

  const post = (url: string, payload: string, contentType = 'application/json') => r.app.inject({ method: 'POST', url, payload, headers: { ...auth, 'content-type': contentType } });

  const expectEnvelope = (res: { statusCode: number; json: () => any }, status: number) => {
    expect(res.statusCode).toBe(status);
    const body = res.json();
    expect(body.response['transaction-id']).toMatch(/^tid_/);
    expect(body.errors.length).toBeGreaterThan(0);
    expect(JSON.stringify(body)).not.toMatch(/at .*\.ts:\d+/);
  };

  it('malformed JSON → 400', async () => {
    expectEnvelope(await post('/v1/access-records', '{"record-metadata": '), 400);
    expectEnvelope(await post('/v1/access-records', ''), 400);
  });

  it('wrong content type → 415', async () => {
    expectEnvelope(await post('/v1/access-records', 'a=b', 'text/plain'), 415);
  });

  it('prototype-pollution keys → 400', async () => {
    expectEnvelope(await post('/v1/identity-records', '{"__proto__": {"admin": true}, "expressed-by": "data-subject"}'), 400);
    expectEnvelope(await post('/v1/identity-records', '{"constructor": {"prototype": {"admin": true}}}'), 400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('huge body → 413; deeply nested body → 400', async () => {
    expectEnvelope(await post('/v1/access-records', JSON.stringify({ x: 'a'.repeat(400_000) })), 413);
    const deep = '['.repeat(20_000) + ']'.repeat(20_000);
    const res = await post('/v1/access-records', deep);
    expect(res.statusCode).toBeGreaterThanOrEqual(400);
    expect(res.statusCode).toBeLessThan(500);
  });

  it('wrong types everywhere → 400 listing each field', async () => {
    const res = await post('/v1/access-records', JSON.stringify({ 'record-metadata': 7, notice: 'x', processing: [], 'access-event': null }));
    expectEnvelope(res, 400);
    expect(res.json().errors.length).toBeGreaterThanOrEqual(3);
  });

  it('unicode and control characters in ids and query strings → 400/404, not 5xx', async () => {
    for (const url of ['/v1/access-records/ak_%F0%9F%92%A5', '/v1/access-records/%00', '/v1/meter-points/%E2%80%AE123/access-records', '/v1/identity-records?mpxn=%FF']) {
      const res = await r.app.inject({ method: 'GET', url, headers: auth });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
    }
  });

  it('bad bearer tokens of every shape → 401', async () => {
    for (const t of ['', 'a.b.c', 'x'.repeat(5000), 'eyJhbGciOiJub25lIn0.e30.', '💥']) {
      const res = await r.app.inject({ method: 'GET', url: '/v1/self', headers: { authorization: `Bearer ${t}` } });
      expect(res.statusCode).toBe(401);
    }
  });
});
