/**
 * Sign-in throttling (docs/security.md): failures count per account and client address,
 * with growing delays, so a stranger's wrong guesses never lock the account's own clients
 * out; the client address comes from X-Forwarded-For only for proxies named in --trust-proxy.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseArgs, UsageError } from '../src/server/config.js';
import { FailureLimiter } from '../src/server/lib/failure-limiter.js';
import { DEMO_SECRETS, testRegister, type TestRegister } from './support/register.js';

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${id}:${secret}`).toString('base64')}`;

function loginAs(r: TestRegister, id: string, secret: string, from: { remoteAddress: string; forwardedFor?: string }) {
  return r.app.inject({
    method: 'GET',
    url: '/v1/auth/token',
    remoteAddress: from.remoteAddress,
    headers: { authorization: basic(id, secret), ...(from.forwardedFor ? { 'x-forwarded-for': from.forwardedFor } : {}) },
  });
}

describe('sign-in throttling per account and client address', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());
  const login = (id: string, secret: string, remoteAddress: string) => loginAs(r, id, secret, { remoteAddress });

  it('failures from other clients never block the right secret from this one', async () => {
    // Fifteen failures on one account, from three addresses: more than any per-account lock allowed.
    for (const attacker of ['198.51.100.1', '198.51.100.2', '198.51.100.3']) {
      for (let i = 0; i < 5; i++) expect((await login('bright_energy', `wrong-${i}`, attacker)).statusCode).toBe(401);
      const blocked = await login('bright_energy', `wrong-again`, attacker);
      expect(blocked.statusCode).toBe(429);
      expect(blocked.json().errors[0]['error-code']).toBe('RATE001');
      expect(Number(blocked.headers['retry-after'])).toBeGreaterThanOrEqual(1);
      // The attacker is delayed even with the right secret: the delay is per (account, address).
      expect((await login('bright_energy', DEMO_SECRETS.bright_energy, attacker)).statusCode).toBe(429);
    }
    const mine = await login('bright_energy', DEMO_SECRETS.bright_energy, '192.0.2.10');
    expect(mine.statusCode).toBe(200);
    // The same attacker address is not delayed for another account.
    expect((await login('octopusflux', DEMO_SECRETS.octopusflux, '198.51.100.1')).statusCode).toBe(200);
  });

  it('delays grow with each further failure', { timeout: 20_000 }, async () => {
    const from = '198.51.100.20';
    for (let i = 0; i < 5; i++) await login('greenswitch', `wrong-${i}`, from);
    const first = await login('greenswitch', 'wrong', from);
    expect(first.statusCode).toBe(429);
    const firstWait = Number(first.headers['retry-after']);
    expect(firstWait).toBe(1);
    await new Promise((res) => setTimeout(res, firstWait * 1000 + 50));
    expect((await login('greenswitch', 'wrong-6', from)).statusCode).toBe(401);
    const second = await login('greenswitch', 'wrong', from);
    expect(second.statusCode).toBe(429);
    expect(Number(second.headers['retry-after'])).toBe(2);
  });

  it('a correct sign-in clears the count for that client', async () => {
    const from = '198.51.100.30';
    for (let i = 0; i < 4; i++) await login('provider_ops', `wrong-${i}`, from);
    expect((await login('provider_ops', DEMO_SECRETS.provider_ops, from)).statusCode).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login('provider_ops', `wrong-${i}`, from)).statusCode).toBe(401);
  });

  it('without --trust-proxy, X-Forwarded-For does not change the throttling key', async () => {
    const from = '203.0.113.50';
    for (let i = 0; i < 5; i++) {
      const res = await loginAs(r, 'northern_networks', `wrong-${i}`, { remoteAddress: from, forwardedFor: `192.0.2.${100 + i}` });
      expect(res.statusCode).toBe(401);
    }
    // A new spoofed address each time, yet the socket address is the key: delayed.
    const spoofed = await loginAs(r, 'northern_networks', 'wrong', { remoteAddress: from, forwardedFor: '192.0.2.200' });
    expect(spoofed.statusCode).toBe(429);
  });
});

describe('--trust-proxy', () => {
  let r: TestRegister;
  const PROXY = '10.0.0.1';
  beforeAll(async () => {
    r = await testRegister({ trustProxy: [PROXY] });
  });
  afterAll(() => r.close());

  it("a trusted proxy's X-Forwarded-For is the client address: one client's failures do not delay others behind the same proxy", async () => {
    for (let i = 0; i < 5; i++) expect((await loginAs(r, 'bright_energy', `wrong-${i}`, { remoteAddress: PROXY, forwardedFor: '198.51.100.7' })).statusCode).toBe(401);
    expect((await loginAs(r, 'bright_energy', 'wrong', { remoteAddress: PROXY, forwardedFor: '198.51.100.7' })).statusCode).toBe(429);
    // Another customer of the same proxy: a wrong secret is just wrong, the right one works.
    expect((await loginAs(r, 'bright_energy', 'wrong', { remoteAddress: PROXY, forwardedFor: '198.51.100.8' })).statusCode).toBe(401);
    expect((await loginAs(r, 'bright_energy', DEMO_SECRETS.bright_energy, { remoteAddress: PROXY, forwardedFor: '198.51.100.8' })).statusCode).toBe(200);
  });

  it('an untrusted client cannot choose its address with X-Forwarded-For, even when a proxy is trusted', async () => {
    const from = '203.0.113.9';
    for (let i = 0; i < 5; i++) await loginAs(r, 'octopusflux', `wrong-${i}`, { remoteAddress: from, forwardedFor: `192.0.2.${i}` });
    expect((await loginAs(r, 'octopusflux', 'wrong', { remoteAddress: from, forwardedFor: '192.0.2.99' })).statusCode).toBe(429);
  });

  it('is parsed from the command line and DAR_TRUST_PROXY, addresses and CIDR ranges only', () => {
    const cfg = parseArgs(['--trust-proxy', '10.0.0.1, 192.168.0.0/16,::1'], {});
    expect(cfg !== 'help' && cfg.trustProxy).toEqual(['10.0.0.1', '192.168.0.0/16', '::1']);
    const env = parseArgs([], { DAR_TRUST_PROXY: '172.16.0.0/12' });
    expect(env !== 'help' && env.trustProxy).toEqual(['172.16.0.0/12']);
    const none = parseArgs([], {});
    expect(none !== 'help' && none.trustProxy).toEqual([]);
    for (const bad of ['true', '*', '10.0.0.1/33', 'proxy.example', '', ',', '0.0.0.0/0', '::/0']) expect(() => parseArgs([`--trust-proxy=${bad}`], {})).toThrow(UsageError);
  });
});

describe('FailureLimiter', () => {
  it('grows the delay 1 s, 2 s, 4 s … to its maximum, and forgets failures after the window', async () => {
    let now = 1_000_000;
    const limiter = new FailureLimiter({ free: 3, baseDelayMs: 1000, maxDelayMs: 10_000, windowMs: 60_000 }, () => now);
    for (let i = 0; i < 2; i++) await limiter.fail('k');
    expect(await limiter.blockedFor('k')).toBe(0);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      await limiter.fail('k');
      const w = await limiter.blockedFor('k');
      waits.push(w);
      now += w * 1000;
      expect(await limiter.blockedFor('k')).toBe(0);
    }
    expect(waits).toEqual([1, 2, 4, 8, 10, 10]);
    expect(await limiter.blockedFor('other')).toBe(0);
    now += 60_001;
    await limiter.fail('k');
    expect(await limiter.blockedFor('k')).toBe(0);
  });
});

describe('sign-in throttling by network for IPv6 (one client holds a whole /64)', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('a new address from the same /64 per guess does not reset the count for the account', async () => {
    for (let i = 0; i < 5; i++) expect((await loginAs(r, 'bright_energy', `wrong-${i}`, { remoteAddress: `2001:db8:1:2::${(i + 1).toString(16)}` })).statusCode).toBe(401);
    const rotated = await loginAs(r, 'bright_energy', 'wrong-again', { remoteAddress: '2001:db8:1:2:ffff:ffff:ffff:fffe' });
    expect(rotated.statusCode).toBe(429);
    // Another network is not delayed.
    expect((await loginAs(r, 'bright_energy', DEMO_SECRETS.bright_energy, { remoteAddress: '2001:db8:1:3::1' })).statusCode).toBe(200);
  });

  it('an IPv4 client counts the same whether its address arrives IPv4-mapped or not', async () => {
    for (let i = 0; i < 5; i++) expect((await loginAs(r, 'octopusflux', `wrong-${i}`, { remoteAddress: i % 2 ? '198.51.100.77' : '::ffff:198.51.100.77' })).statusCode).toBe(401);
    expect((await loginAs(r, 'octopusflux', 'wrong', { remoteAddress: '::FFFF:c633:644d' })).statusCode).toBe(429);
  });
});

describe('sign_in_failures stays small whatever account id is claimed', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('a failure under a 10,000-character account id stores a short key, and still counts', async () => {
    const huge = 'a'.repeat(10_000);
    for (let i = 0; i < 5; i++) expect((await loginAs(r, `${huge}${i}`, 'wrong', { remoteAddress: '198.51.100.90' })).statusCode).toBe(401);
    const keys = (await r.probe.rows('sign_in_failures')).map((row) => String(row.key));
    expect(keys.length).toBeGreaterThan(0);
    expect(Math.max(...keys.map((k) => k.length))).toBeLessThan(200);
    // The five distinct ids share their first 64 characters: one count, now delayed.
    expect((await loginAs(r, `${huge}x`, 'wrong', { remoteAddress: '198.51.100.90' })).statusCode).toBe(429);
  });
});
