import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRegister, type TestRegister } from './support/register.js';
import { tempDir } from './support/temp-files.js';

describe('register smoke', () => {
  let r: TestRegister;
  beforeAll(async () => {
    r = await testRegister();
  });
  afterAll(() => r.close());

  it('serves the OpenAPI document', async () => {
    const res = await r.call(null, 'GET', '/v1/openapi.json');
    expect(res.status).toBe(200);
    expect(res.body.openapi).toMatch(/^3\./);
    expect(Object.keys(res.body.paths)).toContain('/v1/access-records/{ak}');
    // Every operation documents its success body and the error envelope.
    const post = res.body.paths['/v1/access-records'].post;
    expect(Object.keys(post.responses)).toEqual(expect.arrayContaining(['201', '4XX', '5XX']));
    expect(post.requestBody.content['application/json'].schema.properties).toHaveProperty('record-metadata');
  });

  it('answers unknown routes with the error envelope', async () => {
    const res = await r.call(null, 'GET', '/v1/nope');
    expect(res.status).toBe(404);
    expect(res.body.errors[0]['error-code']).toBe('NOT001');
    expect(res.body.response['transaction-id']).toMatch(/^tid_[0-9a-f]{24}$/);
  });
});

describe('console hosting', () => {
  it('serves the built console at /console and /console/ without a redirect loop', async () => {
    const { writeFileSync } = await import('node:fs');
    const { join } = await import('node:path');
    const dir = tempDir('dar-console-');
    writeFileSync(join(dir, 'index.html'), '<!doctype html><title>DAR Console</title>');
    writeFileSync(join(dir, 'app.js'), 'console.log(1)');
    const r = await testRegister({ consoleDir: dir }, { seed: false });
    try {
      for (const url of ['/console', '/console/']) {
        const res = await r.call(null, 'GET', url);
        expect(res.status).toBe(200);
        expect(String(res.body)).toContain('DAR Console');
      }
      expect((await r.call(null, 'GET', '/console/app.js')).status).toBe(200);
      expect((await r.call(null, 'GET', '/')).headers.location).toBe('/console/');
    } finally {
      await r.close();
    }
  });
});
