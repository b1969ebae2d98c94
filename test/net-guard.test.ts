import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { guardedLookup, internalAddressKind } from '../src/server/lib/net-guard.js';
import { testRegister, type TestRegister } from './support/register.js';

/**
 * IPv6 spellings that reach an IPv4 address, or a relay/translator: IPv4-compatible, IPv4-mapped
 * (every textual form), NAT64 (well-known and local-use prefixes), 6to4 and Teredo.
 */
const EMBEDDING = [
  '::127.0.0.1', // IPv4-compatible
  '::7f00:1',
  '::10.0.0.1',
  '::8.8.8.8',
  '::ffff:127.0.0.1', // IPv4-mapped
  '::ffff:7f00:1',
  '0:0:0:0:0:ffff:127.0.0.1',
  '0000:0000:0000:0000:0000:FFFF:7F00:0001',
  '::FFFF:a9fe:a9fe',
  '::ffff:8.8.8.8',
  '::ffff:0:127.0.0.1', // IPv4-translated
  '64:ff9b::127.0.0.1', // NAT64
  '64:ff9b::7f00:1',
  '64:ff9b::8.8.8.8',
  '64:ff9b:1::a00:1', // NAT64 local-use
  '64:ff9b:1:abcd::1',
  '2002:7f00:1::1', // 6to4 (127.0.0.1)
  '2002:0808:0808::1',
  '2001:0:4136:e378:8000:63bf:3fff:fdd2', // Teredo
  '2001::1',
];

describe('SSRF guard: IPv6 forms that embed or reach an IPv4 address', () => {
  it('classifies every spelling as internal', () => {
    for (const a of EMBEDDING) expect(internalAddressKind(a), a).not.toBeNull();
    for (const a of ['::ffff:127.0.0.1', '::ffff:7f00:1', '[::ffff:7f00:1]']) expect(internalAddressKind(a), a).toBe('loopback');
    // Public unicast addresses stay allowed.
    for (const a of ['93.184.216.34', '2606:4700::1111', '2a00:1450:4009:81f::200e', '2001:4860:4860::8888']) expect(internalAddressKind(a), a).toBeNull();
  });

  it('refuses them at connect time (socket lookup) too', async () => {
    for (const address of EMBEDDING) {
      const lookup = guardedLookup(async () => [{ address, family: 6 }]);
      const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => lookup('hooks.example', { family: 0 }, (e) => resolve(e)));
      expect(err?.code, address).toBe('EDAR_SSRF');
    }
  });

  describe('POST /v1/webhooks in production mode', () => {
    let r: TestRegister;
    beforeAll(async () => {
      r = await testRegister({ mode: 'production', origin: 'https://register.example' });
      r.svc.webhooks.resolver = async (host) => {
        const m = /^h(\d+)\.dns\.example$/.exec(host);
        if (!m) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
        return [{ address: EMBEDDING[Number(m[1])], family: 6 }];
      };
    });
    afterAll(() => r.close());

    it('refuses IPv4 loopback in the spellings URL parsing accepts (hex, octal, integer, short forms)', async () => {
      for (const url of ['https://0x7f.1/h', 'https://2130706433/h', 'https://127.1/h', 'https://0177.0.0.1/h', 'https://[::ffff:7f00:1]/h', 'https://[0:0:0:0:0:ffff:127.0.0.1]/h']) {
        const res = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': 'ops@bright-energy.example' });
        expect(res.status, url).toBe(400);
        expect(res.body.errors[0].message, url).toMatch(/loopback address/);
      }
    });

    it('refuses a literal callback host in any of these forms, and a name resolving to one', async () => {
      for (const [i, a] of EMBEDDING.entries()) {
        for (const url of [`https://[${a}]/hook`, `https://h${i}.dns.example/hook`]) {
          const res = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': url, 'alert-email': 'ops@bright-energy.example' });
          expect(res.status, url).toBe(400);
          expect(res.body.errors[0]['error-code'], url).toBe('VAL001');
          expect(res.body.errors[0].message, url).toMatch(/(loopback|private|link-local|reserved|translated) address/);
        }
      }
    });
  });
});
