import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { longDate } from '../src/server/pages/portal/labels.js';
import { consentBody, testRegister, type TestRegister } from './support/register.js';

/** A tiny browser: keeps cookies, submits forms, follows nothing by itself. */
class Browser {
  cookies = new Map<string, string>();
  constructor(private readonly r: TestRegister) {}

  private cookieHeader(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  private remember(setCookie: unknown): void {
    const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
    for (const c of list as string[]) {
      const [pair, ...attrs] = c.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  async get(url: string, headers: Record<string, string> = {}) {
    const res = await this.r.app.inject({ method: 'GET', url, headers: { cookie: this.cookieHeader(), ...headers } });
    this.remember(res.headers['set-cookie']);
    return res;
  }

  async post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
    const res = await this.r.app.inject({
      method: 'POST',
      url,
      payload: new URLSearchParams(form).toString(),
      headers: { cookie: this.cookieHeader(), 'content-type': 'application/x-www-form-urlencoded', ...headers },
    });
    this.remember(res.headers['set-cookie']);
    return res;
  }

  /** Submits the first POST form of a page with its hidden fields (plus overrides). */
  async submit(page: string, extra: Record<string, string> = {}, actionMatch?: RegExp) {
    const forms = [...page.matchAll(/<form[^>]*method="post"[^>]*action="([^"]+)"[^>]*>([\s\S]*?)<\/form>/g)];
    const form = actionMatch ? forms.find((f) => actionMatch.test(f[1])) : forms[0];
    if (!form) throw new Error(`no form${actionMatch ? ` matching ${actionMatch}` : ''} in page:\n${page.slice(0, 2000)}`);
    const fields: Record<string, string> = {};
    for (const m of form[2].matchAll(/<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"/g)) fields[m[1]] = decodeEntities(m[2]);
    const action = decodeEntities(form[1]);
    return this.post(action.startsWith('http') ? new URL(action).pathname + new URL(action).search : action, { ...fields, ...extra });
  }
}

const decodeEntities = (s: string) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&');
const csrfOf = (page: string) => /name="csrf" value="([^"]+)"/.exec(page)![1];

describe('customer transparency portal (/portal)', () => {
  let r: TestRegister;
  const MPXN = '2312345678901';
  beforeAll(async () => {
    r = await testRegister();
    // Every test here walks a real magic link on the one demo meter point, as the same portal
    // account: more starts than the per-(account, MPxN) limit allows in 15 minutes. The limit
    // itself is tested in reidentification.test.ts and reidentification-proof.test.ts.
    r.svc.reidentification.limits.max = 50;
  });
  afterAll(() => r.close());

  /** Walks the magic-link route to an open session, as the customer would. */
  async function signIn(b: Browser, query = `?mpxn=${MPXN}`) {
    const entry = await b.get(`/portal${query}`);
    expect(entry.statusCode).toBe(200);
    expect(entry.body).toContain('Email me a link');
    const outbox = async () => (await r.call('admin_ops', 'GET', '/v1/admin/outbox?limit=500')).body.messages as { to: string; text: string; links: string[] }[];
    const before = (await outbox()).length;
    const started = await b.post('/portal/start', {
      csrf: csrfOf(entry.body),
      mpxn: MPXN,
      method: 'magic-link',
      ...(/name="return" value="([^"]+)"/.test(entry.body) ? { return: decodeEntities(/name="return" value="([^"]+)"/.exec(entry.body)![1]) } : {}),
    });
    expect(started.statusCode).toBe(200);
    expect(started.body).toContain('Check your email');
    expect(started.body).toMatch(/c\*+r@example\.com/);
    expect((await b.get('/portal/status')).json()).toEqual({ status: 'pending' });

    // The customer opens the e-mail on their phone: a different browser with no portal cookies.
    const mails = await outbox();
    expect(mails.length).toBe(before + 1);
    const mail = mails[0]; // newest first
    expect(mail.to).toBe('customer@example.com');
    expect(mail.text).toContain('Central Access Register Portal');
    const link = mail.links.find((l) => l.includes('/id/'))!;
    const phone = new Browser(r);
    const landing = await phone.get(new URL(link).pathname);
    expect(landing.statusCode).toBe(200);
    expect((await b.get('/portal/status')).json()).toEqual({ status: 'pending' }); // opening changed nothing
    const confirmed = await phone.submit(landing.body);
    expect([200, 303]).toContain(confirmed.statusCode);
    expect((await b.get('/portal/status')).json()).toEqual({ status: 'confirmed' });

    const cont = await b.get('/portal/continue');
    expect(cont.statusCode).toBe(303);
    expect(cont.headers.location).toBe('/portal');
    const page = await b.get('/portal');
    expect(page.statusCode).toBe(200);
    return page;
  }

  it('shows every record after a real magic-link confirmation, with the MPxN masked and out of URLs', async () => {
    const b = new Browser(r);
    const page = await signIn(b);
    const body = page.body;
    expect(body).toContain('Who has access to your meter data');
    expect(body).toContain('•••••••••8901');
    expect(body).not.toContain(MPXN);
    for (const name of ['Bright Energy Ltd', 'OctopusFlux Ltd', 'Northern Networks plc', 'GreenSwitch Analytics', 'Acme Energy Services Ltd']) expect(body).toContain(name);
    expect(body).toContain('SEC-OU-00429');
    expect(body).toContain('accessed your data without registering');
    expect(body).toContain('You gave permission');
    expect(body).toContain('Public or regulatory duty');
    expect(body).toContain('Half-hourly electricity use');
    expect(body).toMatch(/class="record dim"/);
    // Withdraw only on ACTIVE consent records (Bright, OctopusFlux), not on Northern Networks' public task.
    expect(body.match(/Withdraw permission<\/button>/g)).toHaveLength(2);
    expect(body).toContain('cannot be withdrawn here');
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(String(page.headers['content-security-policy'])).toContain("frame-ancestors 'none'");
    const session = [...b.cookies.keys()].find((k) => k === 'dar_portal_session');
    expect(session).toBeDefined();
    expect(b.cookies.get('dar_portal_session')).not.toContain(MPXN);

    const json = await b.get('/portal/history.json');
    expect(json.json()['access-records']).toHaveLength(5);
    const csv = await b.get('/portal/history.csv');
    expect(csv.headers['content-type']).toContain('text/csv');
    expect(csv.body.split('\r\n')[0]).toBe(
      '"access-key","organisation","state","legal-basis","purpose","data-types","registered-at","expiry","organisation-reference","ended-at","revoked-at","revocation-reason","expired-at","superseded-at","first-seen","last-seen"',
    );
    // Parts of the full records (registered-at, the privacy notice) appear next to each summary.
    expect(
      csv.body
        .split('\r\n')
        .slice(1)
        .filter((line) => /,"\d{4}-\d{2}-\d{2}T[^,]*Z",/.test(line)).length,
    ).toBeGreaterThanOrEqual(4);
    expect(body).toMatch(/<dt>Privacy notice<\/dt><dd><a href="https:\/\/[^"]+" rel="noopener noreferrer">Read the notice<\/a> \(version [^)]+\)/);
  });

  it('the token was consumed by the portal; the session is bound to one MPxN', async () => {
    const b = new Browser(r);
    await signIn(b);
    const other = await b.get('/portal?mpxn=1234567890');
    expect(other.statusCode).toBe(200);
    expect(other.body).not.toContain('Who has access to your meter data');
    // History stays on the session's own meter point whatever is asked.
    const json = await b.get('/portal/history.json?mpxn=1234567890');
    expect(json.json()['meter-point']).toBe(MPXN);
    // Without a session nothing is shown.
    expect((await new Browser(r).get('/portal/history.json')).statusCode).toBe(401);
  });

  it('withdraws a consent record with confirmation, notifies the Data User, and links back to a registered return URL', async () => {
    // Bright Energy subscribes to withdrawals, so the event is queued for it.
    const bright = await r.svc.accounts.get('bright_energy');
    const sub = await r.call('bright_energy', 'POST', '/v1/webhooks', { 'callback-url': 'https://bright.example/hook', 'alert-email': 'ops@bright.example', 'event-types': ['consent.withdrawal'] });
    expect(sub.status, JSON.stringify(sub.body)).toBe(201);
    const returnUrl = 'http://localhost:5001/return';
    const b = new Browser(r);
    const page = await signIn(b, `?mpxn=${MPXN}&return=${encodeURIComponent(returnUrl)}`);
    const brightAk = (await r.call('bright_energy', 'GET', '/v1/records?state=ACTIVE')).body.records[0].ak;
    const confirm = await b.submit(page.body, { ak: brightAk }, /withdraw\/confirm/);
    expect(confirm.statusCode).toBe(200);
    expect(confirm.body).toContain('is told <strong>immediately</strong>');
    expect(confirm.body).toContain('<strong>not deleted</strong>');
    const done = await b.submit(confirm.body, {}, /\/portal\/withdraw$/);
    expect(done.statusCode).toBe(303);
    expect(done.headers.location).toBe(`/portal?withdrawn=${brightAk}`);
    const after = await b.get(done.headers.location as string);
    expect(after.body).toContain('Permission withdrawn');
    expect(decodeEntities(after.body)).toContain(`${returnUrl}?dar-action=withdrawn&ak=${brightAk}`);
    const verify = await r.call(null, 'GET', `/v1/access-records/${brightAk}`);
    expect(verify.body['access-record']['access-event'].state).toBe('REVOKED');
    const events = (await r.probe.deliveries({ eventType: 'consent.withdrawal' })).filter((d) => d.ak === brightAk);
    expect(events).toHaveLength(1);
    expect(events[0].payload).toMatchObject({ ak: brightAk, reason: 'customer-request', duid: bright.duid });
  });

  it('refuses to withdraw a non-consent record and changes nothing', async () => {
    const b = new Browser(r);
    const page = await signIn(b);
    const northernAk = (await r.call('northern_networks', 'GET', '/v1/records')).body.records[0].ak;
    const res = await b.post('/portal/withdraw', { csrf: csrfOf(page.body), ak: northernAk });
    expect(res.statusCode).toBe(400);
    expect((await r.call(null, 'GET', `/v1/access-records/${northernAk}`)).body['access-record']['access-event'].state).toBe('ACTIVE');
  });

  it('signing out ends the session on the server: a copy of the old cookie gets nothing more', async () => {
    const b = new Browser(r);
    const page = await signIn(b);
    const kept = new Browser(r);
    kept.cookies = new Map(b.cookies); // e.g. copied from the browser before sign-out
    expect((await kept.get('/portal/history.json')).statusCode).toBe(200);
    const out = await b.post('/portal/signout', { csrf: csrfOf(page.body) });
    expect(out.statusCode).toBe(200);
    expect(out.body).toContain('You are signed out');
    expect(b.cookies.has('dar_portal_session')).toBe(false);
    expect((await kept.get('/portal/history.json')).statusCode).toBe(401);
    expect((await kept.get('/portal/history.csv')).statusCode).toBe(401);
    const again = await kept.get('/portal');
    expect(again.body).not.toContain('Who has access to your meter data');
    const withdraw = await kept.post('/portal/withdraw', { csrf: kept.cookies.get('dar_portal_csrf') ?? '', ak: 'ak_000000000000000000000000' });
    expect(withdraw.statusCode).toBe(303);
    expect(withdraw.headers.location).toBe('/portal');
  });

  it('rejects POSTs without the CSRF token, and ignores an unregistered return URL', async () => {
    const b = new Browser(r);
    const res = await b.post('/portal/start', { mpxn: MPXN, method: 'magic-link', csrf: 'forged' });
    expect(res.statusCode).toBe(403);
    const entry = await b.get(`/portal?mpxn=${MPXN}&return=${encodeURIComponent('https://evil.example/steal')}`);
    expect(entry.body).not.toContain('evil.example');
    const crossSite = await b.post('/portal/start', { mpxn: MPXN, method: 'magic-link', csrf: csrfOf(entry.body) }, { origin: 'https://evil.example' });
    expect(crossSite.statusCode).toBe(403);
  });

  it('shows the customer who looked at the meter point, and audits every portal view', async () => {
    const octopus = await r.svc.accounts.get('octopusflux');
    const portal = await r.svc.accounts.get('portal_ops');
    expect((await r.call('octopusflux', 'GET', `/v1/meter-points/${MPXN}/access-records`)).status).toBe(200);
    const viewed = () => r.probe.auditEvents('meter-point.viewed', { subject: MPXN });
    const before = (await viewed()).length;
    const b = new Browser(r);
    const page = await signIn(b);
    // The portal's own listing (consuming the token) and its page view are both audited.
    expect((await viewed()).slice(before).map((v) => [v.actor, v.detail.via])).toEqual([
      ['portal_ops', 'api'],
      ['portal_ops', 'portal-page'],
    ]);
    const section = page.body.slice(page.body.indexOf('Who looked at your meter point'));
    expect(page.body).toContain('Who looked at your meter point');
    expect(section).toContain(octopus.displayName);
    expect(section).toContain(portal.displayName);
    expect(section).toContain(longDate(r.reg.clock.iso()));
    // Only the organisation and the date: no account ids, duids or MPxN.
    expect(section).not.toContain(octopus.duid);
    expect(section).not.toContain('octopusflux');
    expect(page.body).not.toContain(MPXN);
    // Downloads show the records too, so they are views as well.
    const n = (await viewed()).length;
    await b.get('/portal/history.json');
    await b.get('/portal/history.csv');
    expect((await viewed()).slice(n).map((v) => v.detail.via)).toEqual(['portal-page', 'portal-page']);
    expect((await r.call('admin_ops', 'GET', '/v1/admin/audit/verify')).body.intact).toBe(true);
  });

  it('shows when access ended (withdrawn with the reason, expired), and the downloads carry the same dates', async () => {
    const b = new Browser(r);
    const page = await signIn(b);
    const octopusAk = (await r.call('octopusflux', 'GET', '/v1/records?state=ACTIVE')).body.records[0].ak as string;
    const before = (await b.get('/portal/history.json')).json()['access-records'].find((x: { ak: string }) => x.ak === octopusAk);
    const futureEnd = longDate(before.expiry);
    const outboxBefore = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?limit=500')).body.messages.length as number;
    const confirm = await b.submit(page.body, { ak: octopusAk }, /withdraw\/confirm/);
    const done = await b.submit(confirm.body, {}, /\/portal\/withdraw$/);
    expect(done.statusCode).toBe(303);
    const after = await b.get(done.headers.location as string);
    const card = (ak: string, body: string) => {
      const cards = body.split('<article').slice(1);
      return cards.find((c) => c.includes(`h-${ak}`))!;
    };
    const today = longDate(r.reg.clock.iso());
    const withdrawn = card(octopusAk, after.body);
    expect(withdrawn).toContain('Withdrawn');
    expect(decodeEntities(withdrawn)).toContain(`Withdrawn on ${today} (you asked for it to stop)`);
    // Not the old future end date as if it were still running.
    expect(withdrawn).not.toContain(futureEnd);
    expect(withdrawn).not.toContain('<dt>Ends</dt>');
    // The seed's GreenSwitch record was submitted already EXPIRED, 30 days ago: its expiry is when it ended.
    const greenAk = (await r.call('greenswitch', 'GET', '/v1/records')).body.records[0].ak as string;
    const greenExpiry = (await b.get('/portal/history.json')).json()['access-records'].find((x: { ak: string }) => x.ak === greenAk).expiry as string;
    expect(card(greenAk, after.body)).toContain(`Expired on ${longDate(greenExpiry)}`);

    const history = (await b.get('/portal/history.json')).json()['access-records'] as Record<string, any>[];
    const oct = history.find((x) => x.ak === octopusAk)!;
    expect(oct.state).toBe('REVOKED');
    expect(oct['revoked-at']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    expect(oct['revoked-at'].slice(0, 10)).toBe(r.reg.clock.iso().slice(0, 10));
    expect(oct['revocation-reason']).toBe('customer-request');
    expect(oct['ended-at']).toBe(oct['revoked-at']);
    const green = history.find((x) => x.ak === greenAk)!;
    expect(green['expired-at']).toBe(green['ended-at']);
    expect(green['expired-at'].slice(0, 10)).toBe(greenExpiry.slice(0, 10));
    expect(green['revoked-at']).toBeNull();
    const acme = history.find((x) => x.state === 'DISCOVERED')!;
    expect(acme['first-seen']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(acme['last-seen']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(acme['superseded-at']).toBeNull();
    const csv = (await b.get('/portal/history.csv')).body.split('\r\n');
    const header = csv[0].split(',').map((h) => h.replace(/"/g, ''));
    const row = csv
      .find((l) => l.startsWith(`"${octopusAk}"`))!
      .split(',')
      .map((h) => h.replace(/"/g, ''));
    expect(row[header.indexOf('revoked-at')]).toBe(oct['revoked-at']);
    expect(row[header.indexOf('revocation-reason')]).toBe('customer-request');
    expect(row[header.indexOf('ended-at')]).toBe(oct['revoked-at']);
    const acmeRow = csv
      .find((l) => l.startsWith(`"${acme.ak}"`))!
      .split(',')
      .map((h) => h.replace(/"/g, ''));
    expect(acmeRow[header.indexOf('first-seen')]).toBe(acme['first-seen']);
    expect(acmeRow[header.indexOf('last-seen')]).toBe(acme['last-seen']);

    // The receipt: one message to the address the customer proved, with no secrets or full identifiers.
    const mails = (await r.call('admin_ops', 'GET', '/v1/admin/outbox?limit=500')).body.messages as { to: string; subject: string; text: string; html: string; purpose: string; links: string[] }[];
    const receipts = mails.slice(0, mails.length - outboxBefore).filter((m) => m.purpose === 'access-record.withdrawal-receipt');
    expect(receipts).toHaveLength(1);
    const receipt = receipts[0];
    expect(receipt.to).toBe('customer@example.com');
    expect(receipt.subject).toContain('OctopusFlux Ltd');
    for (const part of [receipt.text, receipt.html]) {
      expect(part).toContain('OctopusFlux Ltd');
      expect(part).toContain('Personalised energy-saving insights');
      expect(part).toContain('ending 8901');
      expect(part).toContain(today);
      expect(part).toContain('What happens next');
      expect(part).not.toContain(octopusAk);
      expect(part).not.toContain(MPXN);
      expect(part).not.toMatch(/\b(ir|mlr|pks|duid|ak)_[0-9a-f]{6,}/);
    }
    expect(receipt.links.filter((l) => l.includes('/id/'))).toEqual([]);
  });

  it('a withdrawal that fails sends no receipt (the receipt commits with the change)', async () => {
    const b = new Browser(r);
    const page = await signIn(b);
    const northernAk = (await r.call('northern_networks', 'GET', '/v1/records')).body.records[0].ak;
    const count = () => r.probe.mailCount('access-record.withdrawal-receipt');
    const before = await count();
    expect((await b.post('/portal/withdraw', { csrf: csrfOf(page.body), ak: northernAk })).statusCode).toBe(400);
    expect(await count()).toBe(before);
  });

  it('DISCOVERED access that a registration superseded says so, with the date, and is no longer counted as unregistered', async () => {
    // OctopusFlux (SEC-OU-00102) was seen on the meter point, then registers its access there.
    expect(
      (
        await r.call('dcc_system', 'POST', '/v1/discovered-access', {
          mpxn: MPXN,
          'organisation-name': 'OctopusFlux Ltd',
          'organisation-reference': 'SEC-OU-00102',
          'first-seen': '2026-01-01',
          'data-types-observed': ['HH-CONSUMPTION'],
          'source-reference': 'DCC-PORTAL-1',
        })
      ).status,
    ).toBe(201);
    const own = await r.call('octopusflux', 'POST', '/v1/identity-records', { 'pii-principal': { mpxn: MPXN, 'move-in-date': '2022-06-30' }, 'expressed-by': 'data-subject' });
    expect(own.status).toBe(201);
    expect((await r.call('octopusflux', 'POST', '/v1/access-records', consentBody(own.body.ir))).status).toBe(201);
    const b = new Browser(r);
    const page = await signIn(b);
    const history = (await b.get('/portal/history.json')).json()['access-records'] as Record<string, any>[];
    const old = history.find((x) => x.state === 'DISCOVERED' && x['discovered-access']['organisation-reference'] === 'SEC-OU-00102')!;
    expect(old['superseded-at']).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    expect(old['ended-at']).toBe(old['superseded-at']);
    expect(old['first-seen']).toMatch(/^2026-01-01T/);
    const cardOf = page.body.split('<article').find((c) => c.includes(`h-${old.ak}`))!;
    expect(cardOf).toContain(`Superseded by a registration on ${longDate(r.reg.clock.iso())}`);
    // Only Acme is still "accessed your data without registering".
    expect(page.body).toContain('1 organisation has accessed your data without registering');
  });

  it('explains an unknown meter point and a malformed one', async () => {
    const b = new Browser(r);
    expect((await b.get('/portal?mpxn=9999999999')).body).toContain('No energy company has registered this meter point');
    expect((await b.get('/portal?mpxn=hello')).body).toContain('does not look like a meter point number');
  });
});
