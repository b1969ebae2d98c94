import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
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
      const directives = new Map(
        csp
          .split(';')
          .map((d) => d.trim().split(/\s+/))
          .map(([name, ...values]) => [name, values]),
      );
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

/**
 * The built console (out/renderer, from `electron-vite build`) fits that policy: no inline
 * script or event-handler attribute in its page, every script and stylesheet from /console/,
 * and no eval or Function constructor in the bundle (script-src 'self' forbids them).
 * Chromium itself checks it in e2e/console-csp.spec.ts.
 */
const BUILT = join(import.meta.dirname, '..', 'out', 'renderer');
describe.skipIf(!existsSync(join(BUILT, 'index.html')))('the built console fits its CSP', () => {
  it('no inline script, handler or foreign asset in index.html; no eval in the bundle', async () => {
    const r = await testRegister({ consoleDir: BUILT }, { seed: false });
    try {
      const page = await r.app.inject({ method: 'GET', url: '/console/' });
      expect(page.statusCode).toBe(200);
      expect(String(page.headers['content-security-policy'])).toContain("script-src 'self'");
      const html = page.body;
      const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
      expect(scripts.length).toBeGreaterThan(0);
      for (const [, attrs, body] of scripts) {
        expect(body.trim(), 'inline script').toBe('');
        expect(attrs).toMatch(/src="\/console\/[^"]+"/);
      }
      expect(html).not.toMatch(/\son[a-z]+=/i);
      for (const [, href] of html.matchAll(/<link\b[^>]*href="([^"]+)"/gi)) expect(href).toMatch(/^(\/console\/|\.\/)/);
      for (const file of readdirSync(join(BUILT, 'assets')).filter((f) => f.endsWith('.js'))) {
        const js = readFileSync(join(BUILT, 'assets', file), 'utf8');
        expect(js, file).not.toMatch(/new Function\(|[^A-Za-z0-9_$.]eval\(/);
      }
    } finally {
      await r.close();
    }
  });
});
