/**
 * Re-identification end to end (docs/reidentification.md), in Debian Chromium against a headless register
 * started with `--smtp` pointing at a local smtp-server:
 * - passkeys through the register's own pages with a CDP virtual authenticator:
 *   registration, then assertion (same Data User), assertion by another Data User, and
 *   cross-Data-User passkey-register with the step-up; each ends in a linked access record;
 * - a magic link delivered over real SMTP, opened in Chromium and confirmed with
 *   "Yes, it's me", after a scanner-style GET/HEAD that leaves the token pending.
 */
import type { BrowserContext, CDPSession, Page } from '@playwright/test';
import { decodeQuotedPrintable, startSmtpSink, type SmtpSink } from '../test/support/smtp-sink';
import { apiCall, bearerToken, DEMO, expect, saveScreen, startRegister, test, type RegisterHandle } from './support/fixtures';

test.describe.configure({ mode: 'serial' });

const MPXN = '1600000001';
let sink: SmtpSink;
let reg: RegisterHandle;
let context: BrowserContext;
let page: Page;
let cdp: CDPSession;
let authenticatorId: string;
let ir: string;
const tokens: Record<string, string> = {};

const token = async (account: string) => (tokens[account] ??= await bearerToken(reg.url, account));
const api = async (account: string, method: string, path: string, body?: unknown) => apiCall(reg.url, method, path, { token: await token(account), body });
const returnUrl = () => `${reg.url}/return`;

function consentRecord(tokenRef: string, name: string) {
  return {
    'record-metadata': {
      'schema-version': '1.0',
      'controller-arrangement': { 'arrangement-type': 'sole', controllers: [{ name, role: 'sole', 'contact-url': 'https://example.org/contact' }] },
    },
    notice: { 'shared-notice': { 'terms-url': 'https://example.org/terms', 'notice-version': '1.0' } },
    processing: { 'legal-basis': 'uk-consent', purpose: 'End-to-end test', 'data-types': ['HH-CONSUMPTION'] },
    'access-event': { state: 'ACTIVE', 'registered-at': '2026-01-01T00:00:00Z', expiry: null, consent: { 'consent-type': 'expressed-consent' } },
    'reidentification-token': tokenRef,
  };
}

async function addAuthenticator(): Promise<string> {
  const res = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return res.authenticatorId;
}

test.beforeAll(async ({ browser }) => {
  sink = await startSmtpSink();
  reg = await startRegister({ args: ['--smtp', sink.url] });
  context = await browser.newContext({ baseURL: reg.url, viewport: { width: 390, height: 844 }, locale: 'en-GB' });
  page = await context.newPage();
  cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  authenticatorId = await addAuthenticator();
});

test.afterAll(async () => {
  await context?.close().catch(() => undefined);
  await reg?.stop();
  await sink?.close();
});

test('same Data User: passkey registration, then assertion, then an access record created with the token', async ({}, testInfo) => {
  const created = await api('bright_energy', 'POST', '/v1/identity-records', {
    'pii-principal': { mpxn: MPXN, 'move-in-date': '2024-02-01' },
    'expressed-by': 'data-subject',
    email: 'pat@example.org',
    'initiate-passkey-registration': true,
    'passkey-return-url': returnUrl(),
  });
  expect(created.status).toBe(201);
  ir = created.body.ir;
  const redirect = created.body['passkey-registration-redirect'];
  expect(redirect['redirect-url']).toMatch(new RegExp(`^${reg.url}/id/passkey/register\\?session=pks_[0-9a-f]{24}$`));

  await page.goto(redirect['redirect-url']);
  await expect(page.locator('.org')).toHaveText('Bright Energy Ltd');
  await expect(page.getByRole('heading', { level: 1, name: 'Create a passkey' })).toBeVisible();
  await saveScreen(page, testInfo, 'reid-01-passkey-register');
  await page.getByRole('button', { name: 'Create a passkey' }).click();
  await page.waitForURL(/\/return\?dar-passkey-token=mlr_/);
  expect(new URL(page.url()).searchParams.get('dar-passkey-token')).toBe(redirect['token-ref']);
  await expect(page.locator('#param-dar-passkey-token')).toHaveText(redirect['token-ref']);
  await saveScreen(page, testInfo, 'reid-02-return-page');

  expect((await api('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${redirect['token-ref']}`)).body.status).toBe('confirmed');
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  expect(credentials).toHaveLength(1);
  const record = await api('bright_energy', 'GET', `/v1/identity-records/${ir}`);
  expect(record.body['identity-record'].credentials).toHaveLength(1);
  expect(record.body['identity-record'].credentials[0]['credential-id']).toMatch(/^cred_[0-9a-f]{24}$/);

  // Assertion with the passkey just created.
  const assert = await api('bright_energy', 'POST', `/v1/identity-records/${ir}/re-identify`, { method: 'passkey-assert', 'passkey-return-url': returnUrl() });
  expect(assert.status).toBe(200);
  await page.goto(assert.body.passkey['redirect-url']);
  await expect(page.getByRole('heading', { level: 1, name: 'Confirm it’s you with your passkey' })).toBeVisible();
  await saveScreen(page, testInfo, 'reid-03-passkey-assert');
  await page.getByRole('button', { name: 'Use my passkey' }).click();
  await page.waitForURL(/\/return\?dar-passkey-token=mlr_/);
  const ref = assert.body.passkey['token-ref'];
  expect((await api('bright_energy', 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`)).body.status).toBe('confirmed');

  const access = await api('bright_energy', 'POST', '/v1/access-records', consentRecord(ref, 'Bright Energy Ltd'));
  expect(access.status).toBe(201);
  const verified = await apiCall(reg.url, 'GET', `/v1/access-records/${access.body['access-token'].key}`);
  expect(verified.body['access-record']['access-event'].state).toBe('ACTIVE');
});

test('cross-Data-User: OctopusFlux re-identifies the customer with their passkey and links its own record, never seeing the ir', async ({}, testInfo) => {
  const start = await api('octopusflux', 'POST', '/v1/identity-records/reidentify', { mpxn: MPXN, method: 'passkey-assert', 'passkey-return-url': returnUrl() });
  expect(start.status).toBe(200);
  expect(JSON.stringify(start.body)).not.toContain(ir);
  await page.goto(start.body.passkey['redirect-url']);
  await expect(page.locator('.org')).toHaveText('OctopusFlux Ltd');
  // [ours] The only mention of the record's owner: whose contact details the check relies on.
  await expect(page.locator('#held-by')).toHaveText('Contact details used: the passkey set up on the details Bright Energy Ltd holds for you');
  await expect(page.getByText('Bright Energy')).toHaveCount(1);
  await saveScreen(page, testInfo, 'reid-04-cross-du-assert');
  await page.getByRole('button', { name: 'Use my passkey' }).click();
  await page.waitForURL(/\/return\?dar-passkey-token=mlr_/);

  const ref = start.body.passkey['token-ref'];
  const status = await api('octopusflux', 'GET', `/v1/identity-records/reidentify/${ref}`);
  expect(status.body.status).toBe('confirmed');
  const access = await api('octopusflux', 'POST', '/v1/access-records', consentRecord(ref, 'OctopusFlux Ltd'));
  expect(access.status).toBe(201);
  for (const body of [status.body, access.body]) expect(JSON.stringify(body)).not.toContain(ir);
  // Linked to the customer's existing identity record (operator's view).
  const admin = await api('admin_ops', 'GET', `/v1/admin/records/${access.body['access-token'].key}`);
  expect(admin.body.record.ir).toBe(ir);
  // Used once.
  expect((await api('octopusflux', 'POST', '/v1/access-records', consentRecord(ref, 'OctopusFlux Ltd'))).status).toBe(409);
});

test('[ours] cross-Data-User passkey-register: existing passkey first, then the new one on another device', async ({}, testInfo) => {
  const start = await api('greenswitch', 'POST', '/v1/identity-records/reidentify', { mpxn: MPXN, method: 'passkey-register', 'passkey-return-url': returnUrl() });
  expect(start.status).toBe(200);
  await page.goto(start.body.passkey['redirect-url']);
  await expect(page.locator('.org')).toHaveText('GreenSwitch Analytics');
  await expect(page.getByRole('heading', { level: 1, name: 'First, confirm it’s you' })).toBeVisible();
  await expect(page.getByRole('button', { name: 'E-mail me a link instead' })).toBeVisible();
  await saveScreen(page, testInfo, 'reid-05-step-up');
  await page.getByRole('button', { name: 'Use my existing passkey' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Now create your new passkey' })).toBeVisible();
  await expect(page.getByText('Step 2 of 2')).toBeVisible();
  await saveScreen(page, testInfo, 'reid-06-step-up-done');

  // The customer switches to a new device (the old authenticator already holds a passkey for this record).
  await cdp.send('WebAuthn.removeVirtualAuthenticator', { authenticatorId });
  authenticatorId = await addAuthenticator();
  await page.getByRole('button', { name: 'Create a passkey' }).click();
  await page.waitForURL(/\/return\?dar-passkey-token=mlr_/);
  const ref = start.body.passkey['token-ref'];
  expect((await api('greenswitch', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');
  expect((await api('bright_energy', 'GET', `/v1/identity-records/${ir}`)).body['identity-record'].credentials).toHaveLength(2);
  expect((await api('greenswitch', 'POST', '/v1/access-records', consentRecord(ref, 'GreenSwitch Analytics'))).status).toBe(201);
});

test('magic link over real SMTP: a scanner GET/HEAD changes nothing; "Yes, it\'s me" in Chromium confirms', async ({}, testInfo) => {
  const before = sink.received.length;
  const start = await api('northern_networks', 'POST', '/v1/identity-records/reidentify', { mpxn: DEMO.mpxn, method: 'magic-link', 'redirect-url': returnUrl() });
  expect(start.status).toBe(200);
  expect(start.body['magic-link']['dispatched-to']).toBe('c******r@example.com');
  const ref = start.body['magic-link']['token-ref'];

  // The customer's mail, not whatever else arrives meanwhile: the test before this one added a
  // passkey, and its notice to that record's address may still be on its way.
  const forCustomer = () => sink.received.slice(before).find((m) => m.to.includes(DEMO.customerEmail));
  await expect.poll(forCustomer, { timeout: 20_000 }).toBeDefined();
  const mail = forCustomer()!;
  expect(mail.to).toEqual([DEMO.customerEmail]);
  expect(mail.raw).toMatch(/^Subject: Northern Networks plc is asking to confirm it's you/m);
  const link = /http:\/\/localhost:\d+\/id\/magic\/[A-Za-z0-9_-]{43}/.exec(decodeQuotedPrintable(mail.raw))![0];
  expect(link.startsWith(reg.url)).toBe(true);
  await expect.poll(async () => (await api('admin_ops', 'GET', `/v1/admin/outbox?ref=${ref}`)).body.messages[0].status).toBe('sent');

  // A mail scanner prefetches the link.
  const scanGet = await fetch(link);
  expect(scanGet.status).toBe(200);
  expect(await scanGet.text()).toContain('Northern Networks plc');
  expect((await fetch(link, { method: 'HEAD' })).status).toBe(200);
  expect((await api('northern_networks', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('pending');

  await page.goto(link);
  await expect(page.locator('.org')).toHaveText('Northern Networks plc');
  await expect(page.getByRole('heading', { level: 1, name: 'Is it you?' })).toBeVisible();
  await saveScreen(page, testInfo, 'reid-07-magic-link');
  await page.getByRole('button', { name: "Yes, it's me" }).click();
  await page.waitForURL(/\/return\?dar-reid-token=mlr_/);
  expect(new URL(page.url()).searchParams.get('dar-reid-token')).toBe(ref);
  await saveScreen(page, testInfo, 'reid-08-magic-link-return');
  expect((await api('northern_networks', 'GET', `/v1/identity-records/reidentify/${ref}`)).body.status).toBe('confirmed');

  // Used: opening it again shows a clear page.
  await page.goto(link);
  await expect(page.getByRole('heading', { level: 1, name: 'You’ve already confirmed it’s you' })).toBeVisible();
  await expect(page.getByText(/You confirmed with this link at \d{2}:\d{2} UTC on /)).toBeVisible();
  await page.setViewportSize({ width: 1440, height: 900 });
  await saveScreen(page, testInfo, 'reid-09-magic-link-reopened');
  await page.setViewportSize({ width: 1024, height: 768 });
  await saveScreen(page, testInfo, 'reid-09-magic-link-reopened-1024');

  const access = await api('northern_networks', 'POST', '/v1/access-records', consentRecord(ref, 'Northern Networks plc'));
  expect(access.status).toBe(201);
});
