import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { csvDocument, csvField } from '../src/shared/csv.js';
import { Customer } from './support/customer.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

/** Splits one CSV line whose fields are all quoted (RFC 4180), checking that they are. */
function quotedFields(line: string): string[] {
  const fields: string[] = [];
  const re = /"((?:[^"]|"")*)"(,|$)/gy;
  let m: RegExpExecArray | null;
  let end = 0;
  while (end < line.length && (m = re.exec(line))) {
    fields.push(m[1].replace(/""/g, '"'));
    end = re.lastIndex;
    if (m[2] === '') break;
  }
  expect(end, `every field quoted in: ${line}`).toBe(line.length);
  return fields;
}

describe('CSV: every field quoted, formulas neutralised', () => {
  it('csvField / csvDocument', () => {
    expect(csvField('plain')).toBe('"plain"');
    expect(csvField(null)).toBe('""');
    expect(csvField(42)).toBe('"42"');
    expect(csvField({ a: 1 })).toBe('"{""a"":1}"');
    for (const lead of ['=', '+', '-', '@', '\t', '\r']) expect(csvField(`${lead}1+1`)).toBe(`"'${lead}1+1"`);
    expect(csvField('a "quoted", line\nbreak')).toBe('"a ""quoted"", line\nbreak"');
    expect(csvDocument(['a', 'b'], [['=x', 'y']])).toBe('"a","b"\r\n"\'=x","y"\r\n');
  });

  describe('the portal history download', () => {
    let r: TestRegister;
    const MPXN = '1600000007';
    beforeAll(async () => {
      r = await testRegister();
      const created = await r.call('bright_energy', 'POST', '/v1/identity-records', {
        'pii-principal': { mpxn: MPXN, 'move-in-date': '2023-01-01' },
        'expressed-by': 'data-subject',
        email: 'csv.customer@example.org',
      });
      expect(created.status).toBe(201);
      const body = consentBody(created.body.ir, { processing: { 'legal-basis': 'uk-consent', purpose: '+SUM(1,2)', 'data-types': ['HH-CONSUMPTION'] } });
      body['record-metadata']['controller-arrangement'].controllers[0].name = '=HYPERLINK("https://evil.example","Bright")';
      expect((await r.call('bright_energy', 'POST', '/v1/access-records', body)).status).toBe(201);
    });
    afterAll(() => r.close());

    it('quotes every field, including the header, and prefixes formula-like values', async () => {
      const b = new Customer(r);
      const entry = await b.get(`/portal?mpxn=${MPXN}`);
      const started = await b.request('POST', '/portal/start', { form: { csrf: Customer.csrfField(entry.body)!, mpxn: MPXN, method: 'magic-link' } });
      expect(started.status).toBe(200);
      const mail = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?limit=1')).body.messages[0];
      expect([200, 303]).toContain((await new Customer(r).confirmMagicLink(mail.links.find((l: string) => l.includes('/id/magic/')))).status);
      await b.get('/portal/continue');
      const csv = await b.get('/portal/history.csv');
      expect(csv.status).toBe(200);
      const lines = csv.body.split('\r\n');
      expect(lines.pop()).toBe('');
      const [header, ...rows] = lines.map(quotedFields);
      expect(header[0]).toBe('access-key');
      expect(rows).toHaveLength(1);
      expect(rows[0][header.indexOf('organisation')]).toBe('\'=HYPERLINK("https://evil.example","Bright")');
      expect(rows[0][header.indexOf('purpose')]).toBe("'+SUM(1,2)");
    });
  });

  it('every CSV writer in the register and the console uses the shared function', () => {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        if (statSync(p).isDirectory()) walk(p);
        else if (/\.(ts|tsx)$/.test(name)) files.push(p);
      }
    };
    walk(join(import.meta.dirname, '..', 'src'));
    const writers = files.filter((f) => !f.endsWith(join('shared', 'csv.ts')) && /text\/csv/.test(readFileSync(f, 'utf8')));
    expect(writers.length).toBeGreaterThanOrEqual(3); // the portal, the console's audit export and the admin records export
    for (const f of writers) {
      const src = readFileSync(f, 'utf8');
      // csvDocument for a whole document, csvRow for one streamed row at a time, or the admin
      // lists' streamed export (lib/csv-export, itself one of these writers, built on csvRow).
      expect(src, f).toMatch(/import \{[^}]*(csvDocument|csvRow)[^}]*\} from '[./]+shared\/csv(\.js)?'|import \{[^}]*sendCsv[^}]*\} from '[./]+lib\/csv-export(\.js)?'/);
      expect(src, f).not.toMatch(/\.join\(','\)/);
    }
  });
});
