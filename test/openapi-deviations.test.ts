import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEVIATIONS } from '../src/server/schemas/deviations.js';
import { testRegister, type TestRegister } from './support/register.js';

describe("the served OpenAPI lists the contract's deviations ([ours])", () => {
  let r: TestRegister;
  let doc: any;
  beforeAll(async () => {
    r = await testRegister({}, { seed: false });
    const res = await r.app.inject({ method: 'GET', url: '/v1/openapi.json' });
    expect(res.statusCode).toBe(200);
    doc = res.json();
  });
  afterAll(() => r.close());

  it('info.description summarises every deviation', () => {
    const info: string = doc.info.description;
    expect(info).toContain('## Deviations from the published API [ours]');
    for (const d of DEVIATIONS) expect(info).toContain(`**${d.title}**`);
    // The list covers the contract's marked items, including these.
    for (const must of [
      'Date-times',
      'MPxN pattern',
      'E-mail storage',
      'No passkey enrolment without proof',
      'Eligible identity record',
      'Meter-point listings',
      'Change of tenancy tells each Data User its own keys only',
      'Webhook callbacks',
      'Signing-secret rotation',
      'Hash-chained audit',
      'Authorization before validation',
      'Portal withdrawal window',
    ])
      expect(DEVIATIONS.map((d) => d.title)).toContain(must);
  });

  it("each affected operation's description says what differs there", () => {
    let checked = 0;
    for (const d of DEVIATIONS) {
      for (const op of d.ops) {
        const [method, path] = op.split(' ');
        const operation = doc.paths[path]?.[method.toLowerCase()];
        expect(operation, `${op} is in the document`).toBeDefined();
        expect(operation.description, op).toContain(`**Differs from the published API [ours] — ${d.title}:**`);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(40);
    // Examples a client developer would look for.
    expect(doc.paths['/v1/identity-records/exists'].get.description).toMatch(/passkey-register/);
    expect(doc.paths['/v1/cot-events'].post.description).toMatch(/only that Data User's ACTIVE access keys/);
    expect(doc.paths['/v1/access-records/{ak}'].get.description).toMatch(/EXPIRED even before/);
    // An operation that matches the published API exactly carries no such note.
    expect(doc.paths['/v1/data-users/{duid}'].get.description ?? '').not.toContain('[ours]');
  });

  it('the document is built once: fetching it again does not repeat the notes', async () => {
    const again = (await r.app.inject({ method: 'GET', url: '/v1/openapi.json' })).json();
    expect(again.info.description.match(/## Deviations/g)).toHaveLength(1);
    expect(again.paths['/v1/webhooks/{wid}'].patch.description.match(/Signing-secret rotation/g)).toHaveLength(1);
  });
});
