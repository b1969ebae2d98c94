import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRegister, type TestRegister } from './support/register.js';
import { tempDir } from './support/temp-files.js';

describe('the console page carries a Content-Security-Policy', () => {
  let r: TestRegister;
  beforeAll(async () => {
    const dir = tempDir('dar-console-csp-');
    mkdirSync(join(dir, 'assets'));
    writeFileSync(join(dir, 'index.html'), '<!doctype html><div id="root"></div><script type="module" src="/console/assets/app.js"></script>');
    writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
    r = await testRegister({ consoleDir: dir }, { seed: false });
  });
  afterAll(() => r.close());

  it('on /console/, /console and its files: own-origin scripts and connections only, never framed', async () => {
    for (const url of ['/console/', '/console', '/console/assets/app.js']) {
      const res = await r.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(200);
      const csp = String(res.headers['content-security-policy'] ?? '');
      const directives = new Map(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([name, ...values]) => [name, values]));
      expect(directives.get('script-src'), url).toEqual(["'self'"]);
      expect(directives.get('connect-src'), url).toEqual(["'self'"]);
      expect(directives.get('default-src'), url).toEqual(["'self'"]);
      expect(directives.get('object-src'), url).toEqual(["'none'"]);
      expect(directives.get('frame-ancestors'), url).toEqual(["'none'"]);
      expect(directives.get('base-uri'), url).toEqual(["'self'"]);
      expect(directives.get('img-src'), url).toEqual(["'self'", 'data:']);
    }
  });

  it('the API keeps no page policy (it serves JSON), but is never framed either', async () => {
    const res = await r.app.inject({ method: 'GET', url: '/v1/access-records/ak_000000000000000000000000' });
    expect(res.headers['content-security-policy']).toBeUndefined();
    expect(res.headers['x-frame-options']).toBe('DENY');
  });
});
