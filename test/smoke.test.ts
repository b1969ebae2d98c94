import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testRegister, type TestRegister } from './support/register.js';

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
