import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installErrorHandler } from '../src/server/http/error-handler.js';
import type { App } from '../src/server/http/types.js';
import { Clock } from '../src/server/lib/clock.js';
import { conflict } from '../src/server/lib/errors.js';
import { lazyMount } from '../src/server/pages/lazy-mount.js';
import { testRegister, type TestRegister } from './support/register.js';

// /docs and /console/* are served by plugins loaded on first use (start-up time, docs/performance.md).
describe('documentation and console files, loaded on first use', () => {
  let r: TestRegister;
  let made = '';
  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dar-console-'));
    made = dir;
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>DAR Console</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    r = await testRegister({ consoleDir: dir }, { seed: false });
  });
  afterAll(async () => {
    await r.close();
    rmSync(made, { recursive: true, force: true });
  });

  it('serves the API documentation with its CSP and the register security headers', async () => {
    const page = await r.app.inject({ method: 'GET', url: '/docs/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.headers['x-frame-options']).toBe('DENY');
    const css = await r.app.inject({ method: 'GET', url: '/docs/static/swagger-ui.css' });
    expect(css.statusCode).toBe(200);
    expect(css.headers['content-type']).toMatch(/^text\/css/);
    const head = await r.app.inject({ method: 'HEAD', url: '/docs/static/swagger-ui.css' });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(css.rawPayload.length));
    expect(head.rawPayload.length).toBe(0);
  });

  it('documents the same OpenAPI document as /v1/openapi.json', async () => {
    const docs = await r.app.inject({ method: 'GET', url: '/docs/json' });
    const api = await r.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(docs.statusCode).toBe(200);
    expect(docs.json()).toEqual(api.json());
    const yaml = await r.app.inject({ method: 'GET', url: '/docs/yaml' });
    expect(yaml.headers['content-type']).toMatch(/^application\/x-yaml/);
    expect(yaml.body).toContain('/v1/access-records/{ak}');
  });

  it('answers missing files and traversal with the error envelope', async () => {
    for (const url of ['/docs/static/nope.js', '/docs/nope', '/console/nope.js', '/console/%2e%2e/package.json']) {
      const res = await r.app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(404);
      expect(res.json().errors[0]['error-code'], url).toBe('NOT001');
    }
    const redirect = await r.app.inject({ method: 'GET', url: '/docs/static/index.html' });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/docs/');
    expect(redirect.headers['content-type']).toBeUndefined();
  });

  it('serves console files with caching headers, ranges and HEAD', async () => {
    const res = await r.app.inject({ method: 'GET', url: '/console/app.js' });
    expect(res.statusCode).toBe(200);
    expect(res.body).toBe('console.log(1)');
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers.etag).toBeTruthy();
    const again = await r.app.inject({ method: 'GET', url: '/console/app.js', headers: { 'if-none-match': String(res.headers.etag) } });
    expect(again.statusCode).toBe(304);
    const range = await r.app.inject({ method: 'GET', url: '/console/app.js', headers: { range: 'bytes=0-6' } });
    expect(range.statusCode).toBe(206);
    expect(range.body).toBe('console');
    const head = await r.app.inject({ method: 'HEAD', url: '/console/app.js' });
    expect(head.headers['content-length']).toBe('14');
  });
});

describe('lazyMount', () => {
  it('loads the plugin on the first request only, and hands its errors to the app', async () => {
    const app = Fastify() as unknown as App;
    installErrorHandler(app, new Clock());
    let loads = 0;
    lazyMount(app, ['/lazy/*'], async (sub) => {
      loads++;
      sub.get('/lazy/ok', async () => ({ ok: true }));
      sub.get('/lazy/conflict', async () => {
        throw conflict('already there');
      });
    });
    await app.ready();
    expect(loads).toBe(0);
    try {
      expect((await app.inject({ method: 'GET', url: '/lazy/ok' })).json()).toEqual({ ok: true });
      const err = await app.inject({ method: 'GET', url: '/lazy/conflict' });
      expect(err.statusCode).toBe(409);
      expect(err.json().errors[0]).toEqual({ 'error-code': 'CON001', message: 'already there' });
      const missing = await app.inject({ method: 'GET', url: '/lazy/missing' });
      expect(missing.statusCode).toBe(404);
      expect(missing.json().errors[0]['error-code']).toBe('NOT001');
      expect(loads).toBe(1);
    } finally {
      await app.close();
    }
  });
});
