/**
 * The customer transparency portal (/portal) end to end in Chromium: magic link (link taken
 * from the register's outbox), passkey with a CDP virtual authenticator, withdrawal with the
 * webhook received by a loopback receiver, one MPxN per session, and no framing.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { CDPSession, Page } from '@playwright/test';
import { apiCall, bearerToken, DEMO, demoRegister, expect, saveScreen, test as shared, type RegisterHandle } from './support/fixtures';

// The portal withdraws records, and other specs revoke demo records too: this spec gets a
// register of its own so it always starts from the demo data as loaded.
const test = shared.extend<object, { register: RegisterHandle }>({
  register: [demoRegister, { scope: 'worker', timeout: 90_000 }],
});

async function openPortalFor(page: Page, mpxn: string) {
  await page.goto('/portal');
  await expect(page.getByRole('heading', { level: 1 })).toHaveText('See who has access to your smart meter data');
  await page.getByLabel('Meter point number (MPAN or MPRN)').fill(mpxn);
  await page.getByRole('button', { name: 'Find my meter point' }).click();
  await expect(page.getByRole('group', { name: "How would you like to confirm it's you?" })).toBeVisible();
}

/** Latest magic link the register e-mailed (what the customer finds in their mailbox). */
async function latestMagicLink(url: string, bearer: string): Promise<string> {
  const res = await apiCall(url, 'GET', '/v1/admin/outbox?limit=1', { token: bearer });
  const message = res.body.messages[0];
  expect(message.to).toBe(DEMO.customerEmail);
  return message.links.find((l: string) => l.includes('/id/'))!;
}

/** A platform authenticator; `verifies: false` is a device with no PIN, biometric or screen lock. */
async function addAuthenticator(page: Page, verifies = true): Promise<CDPSession> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: verifies, isUserVerified: verifies, automaticPresenceSimulation: true },
  });
  return cdp;
}

test.describe('customer portal', () => {
  test('magic-link route: confirm from the e-mail, then see every record', async ({ page, context, register, adminBearer }, testInfo) => {
    await openPortalFor(page, DEMO.mpxn);
    await saveScreen(page, testInfo, 'portal-1-choose-method');
    await page.getByLabel(/Email me a link/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await expect(page.getByRole('heading', { name: 'Check your email' })).toBeVisible();
    await expect(page.getByText(/c\*+r@example\.com/)).toBeVisible();
    await saveScreen(page, testInfo, 'portal-2-check-email');

    // The customer opens the link in another tab (as from their mail app) and confirms.
    const link = await latestMagicLink(register.url, adminBearer);
    const mail = await context.newPage();
    await mail.goto(link);
    await expect(mail.getByText('Central Access Register Portal').first()).toBeVisible();
    await mail.getByRole('button', { name: "Yes, it's me" }).click();

    // The original tab notices by polling and shows the records.
    await expect(page.getByRole('heading', { name: 'Who has access to your meter data' })).toBeVisible({ timeout: 20_000 });
    expect(page.url()).not.toContain(DEMO.mpxn);
    await expect(page.getByText('•••••••••8901')).toBeVisible();
    for (const name of ['Bright Energy Ltd', 'OctopusFlux Ltd', 'Northern Networks plc', 'GreenSwitch Analytics', 'Acme Energy Services Ltd']) {
      await expect(page.getByRole('heading', { name, level: 3 })).toBeVisible();
    }
    await expect(page.getByText('SEC-OU-00429')).toBeVisible();
    await saveScreen(page, testInfo, 'portal-3-records');
    await page.setViewportSize({ width: 390, height: 844 });
    await saveScreen(page, testInfo, 'portal-3-records-phone');
  });

  test('a session is bound to one meter point, and history downloads', async ({ page, context, register, adminBearer }) => {
    await openPortalFor(page, DEMO.mpxn);
    await page.getByLabel(/Email me a link/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    const mail = await context.newPage();
    await mail.goto(await latestMagicLink(register.url, adminBearer));
    await mail.getByRole('button', { name: "Yes, it's me" }).click();
    await expect(page.getByRole('heading', { name: 'Who has access to your meter data' })).toBeVisible({ timeout: 20_000 });

    const json = await page.request.get('/portal/history.json');
    expect((await json.json())['access-records'].length).toBeGreaterThanOrEqual(5);

    // Asking for another meter point never shows its records: the customer must confirm again.
    await page.goto('/portal?mpxn=1029384756');
    await expect(page.getByRole('heading', { name: 'Who has access to your meter data' })).toHaveCount(0);
    await expect(page.getByRole('heading', { level: 1 })).toHaveText('See who has access to your smart meter data');
    const still = await page.request.get('/portal/history.json');
    expect((await still.json())['meter-point']).toBe(DEMO.mpxn);
  });

  test('passkey route with a virtual authenticator, then withdraw with the webhook delivered', async ({ page, register, adminBearer: admin }, testInfo) => {
    // A loopback receiver for Bright Energy's webhooks.
    const received: { body: any; headers: IncomingMessage['headers'] }[] = [];
    const server: Server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        received.push({ body: JSON.parse(raw), headers: req.headers });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const hookPort = (server.address() as { port: number }).port;
    try {
      const bright = await bearerToken(register.url, 'bright_energy');
      const sub = await apiCall(register.url, 'POST', '/v1/webhooks', {
        token: bright,
        body: { 'callback-url': `http://127.0.0.1:${hookPort}/hook`, 'alert-email': 'ops@bright.example', 'event-types': ['consent.withdrawal'] },
      });
      expect(sub.status).toBe(201);

      // [ours] The customer sets up a passkey from /portal: first the e-mailed link (the address
      // Bright Energy holds for them), in this browser, and only then the new passkey.
      await addAuthenticator(page);
      await openPortalFor(page, DEMO.mpxn);
      await page.getByLabel(/Set up a passkey on this device/).check();
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(/\/id\/passkey\/register\?session=pks_/);
      await expect(page.getByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeVisible();
      await expect(page.locator('#held-by')).toHaveText('Contact details used: the e-mail address Bright Energy Ltd holds for you');
      await expect(page.locator('#start')).toHaveCount(0); // nothing to enrol before the proof
      await saveScreen(page, testInfo, 'portal-4a-passkey-step-up');
      await page.goto(await latestMagicLink(register.url, admin));
      await expect(page.getByRole('heading', { level: 1, name: 'Is it you adding a new passkey?' })).toBeVisible();
      await page.getByRole('button', { name: "Yes, it's me — continue" }).click();
      await expect(page.getByRole('heading', { level: 1, name: 'Now create your new passkey' })).toBeVisible();
      await page.locator('#start').click();
      await expect(page.getByRole('heading', { name: 'Who has access to your meter data' })).toBeVisible({ timeout: 20_000 });
      // The record's address is told that a passkey was added, by whom and when.
      const notice = (await apiCall(register.url, 'GET', '/v1/admin/outbox?purpose=identity-record.passkey-added', { token: admin })).body.messages[0];
      expect(notice.to).toBe(DEMO.customerEmail);
      expect(notice.subject).toContain('Central Access Register Portal');
      await page.getByRole('button', { name: 'Sign out' }).click();

      // Later, the customer uses the portal with that passkey.
      await openPortalFor(page, DEMO.mpxn);
      await expect(page.getByLabel(/Use your passkey/)).toBeChecked(); // preferred when available
      await page.getByRole('button', { name: 'Continue' }).click();
      await page.waitForURL(/\/id\/passkey\/assert\?session=pks_/);
      await expect(page.getByText('Central Access Register Portal').first()).toBeVisible();
      await saveScreen(page, testInfo, 'portal-4-passkey-assert');
      await page.locator('#start').click();
      await expect(page.getByRole('heading', { name: 'Who has access to your meter data' })).toBeVisible({ timeout: 20_000 });

      // Withdraw OctopusFlux's consent (ACTIVE, uk-consent) — Bright's may already be withdrawn by another spec.
      const card = page.getByRole('article').filter({ has: page.getByRole('heading', { name: 'OctopusFlux Ltd', level: 3 }) });
      await card.getByRole('button', { name: 'Withdraw permission' }).click();
      await expect(page.getByRole('heading', { name: /Withdraw permission from OctopusFlux Ltd/ })).toBeVisible();
      await saveScreen(page, testInfo, 'portal-5-withdraw-confirm');
      await page.getByRole('button', { name: 'Yes, withdraw permission' }).click();
      await expect(page.getByRole('heading', { name: 'Permission withdrawn' })).toBeVisible();
      await expect(card.getByText('Withdrawn', { exact: true })).toBeVisible();
      // When access ended, with the reason in plain words; not the old future end date.
      const today = new Date().toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
      await expect(card.locator('.ended')).toHaveText(`Withdrawn on ${today} (you asked for it to stop)`);
      await expect(card.getByText('Ends', { exact: true })).toHaveCount(0);
      await saveScreen(page, testInfo, 'portal-6-withdrawn');
      await page.setViewportSize({ width: 1024, height: 768 });
      await saveScreen(page, testInfo, 'portal-6-withdrawn-1024');
      await page.setViewportSize({ width: 1440, height: 900 });
      // The downloads carry the same date and reason.
      const history = (await (await page.request.get('/portal/history.json')).json())['access-records'] as Record<string, any>[];
      const withdrawn = history.find((r) => r['lead-controller-name'] === 'OctopusFlux Ltd' && r.state === 'REVOKED')!;
      expect(withdrawn['revocation-reason']).toBe('customer-request');
      expect(withdrawn['revoked-at']).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
      const csv = await (await page.request.get('/portal/history.csv')).text();
      expect(csv).toContain(`"${withdrawn['revoked-at']}","customer-request"`);
      // The receipt, to the address the customer proved: organisation, purpose, date, last four digits.
      const receipt = (await apiCall(register.url, 'GET', '/v1/admin/outbox?purpose=access-record.withdrawal-receipt', { token: admin })).body.messages[0];
      expect(receipt.to).toBe(DEMO.customerEmail);
      expect(receipt.subject).toContain('OctopusFlux Ltd');
      expect(receipt.text).toContain('Personalised energy-saving insights');
      expect(receipt.text).toContain('ending 8901');
      expect(receipt.text).toContain(today);
      expect(receipt.text).not.toContain(DEMO.mpxn);
      expect(receipt.text).not.toContain(withdrawn.ak);

      // Bright Energy's own record: withdraw it too and see its webhook arrive, signed.
      const brightCard = page.getByRole('article').filter({ has: page.getByRole('heading', { name: 'Bright Energy Ltd', level: 3 }) });
      await brightCard.getByRole('button', { name: 'Withdraw permission' }).click();
      await page.getByRole('button', { name: 'Yes, withdraw permission' }).click();
      await expect(page.getByRole('heading', { name: 'Permission withdrawn' })).toBeVisible();
      await expect.poll(() => received.length, { timeout: 30_000 }).toBeGreaterThan(0);
      const event = received[0];
      expect(event.body['event-type']).toBe('consent.withdrawal');
      expect(event.body.payload).toMatchObject({ mpxn: DEMO.mpxn, reason: 'customer-request' });
      expect(String(event.headers['x-dar-signature'])).toMatch(/^sha256=[0-9a-f]{64}/);
    } finally {
      server.close();
    }
  });

  test('[ours] a record with no e-mail and no passkey: /portal offers no way to enrol a passkey', async ({ page, register }, testInfo) => {
    const mpxn = '1500000009';
    const bright = await bearerToken(register.url, 'bright_energy');
    const created = await apiCall(register.url, 'POST', '/v1/identity-records', { token: bright, body: { 'pii-principal': { mpxn, 'move-in-date': '2024-01-01' }, 'expressed-by': 'data-subject' } });
    expect(created.status).toBe(201);
    await addAuthenticator(page);
    await page.goto('/portal');
    await page.getByLabel('Meter point number (MPAN or MPRN)').fill(mpxn);
    await page.getByRole('button', { name: 'Find my meter point' }).click();
    await expect(page.getByText('no e-mail address or passkey for this meter point')).toBeVisible();
    await expect(page.getByRole('group', { name: "How would you like to confirm it's you?" })).toHaveCount(0);
    await expect(page.getByLabel(/Set up a passkey on this device/)).toHaveCount(0);
    await saveScreen(page, testInfo, 'portal-7-no-factor');
    const record = await apiCall(register.url, 'GET', `/v1/identity-records/${created.body.ir}`, { token: bright });
    expect(record.body['identity-record'].credentials).toHaveLength(0);
  });

  test('[ours] cross-device: the e-mail step of a passkey set-up confirmed on a phone is noticed here, with a new link for this device', async ({ page, browser, register, adminBearer: admin }, testInfo) => {
    const mpxn = '1500000017';
    const email = 'two.devices@example.org';
    const bright = await bearerToken(register.url, 'bright_energy');
    const created = await apiCall(register.url, 'POST', '/v1/identity-records', { token: bright, body: { 'pii-principal': { mpxn, 'move-in-date': '2024-01-01' }, 'expressed-by': 'data-subject', email } });
    expect(created.status).toBe(201);
    const newestLink = async () => {
      const message = (await apiCall(register.url, 'GET', '/v1/admin/outbox?limit=1', { token: admin })).body.messages[0];
      expect(message.to).toBe(email);
      return message.links.find((l: string) => l.includes('/id/magic/')) as string;
    };

    await addAuthenticator(page);
    await openPortalFor(page, mpxn);
    await page.getByLabel(/Set up a passkey on this device/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/id\/passkey\/register\?session=pks_/);
    await expect(page.getByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeVisible();

    // The customer opens the e-mail on their phone (another browser) and confirms there.
    const phone = await browser.newContext();
    try {
      const phonePage = await phone.newPage();
      await phonePage.goto(await newestLink());
      await phonePage.getByRole('button', { name: "Yes, it's me — continue" }).click();
      await expect(phonePage.getByRole('heading', { level: 1, name: 'Now create your new passkey' })).toBeVisible();
    } finally {
      await phone.close();
    }

    // This page notices by polling: continue on the phone, or get a new link here.
    await expect(page.getByRole('heading', { level: 1, name: 'You confirmed on another device' })).toBeVisible({ timeout: 15_000 });
    await expect(page.locator('#lead')).toContainText('continue there, or get a new link here');
    await expect(page.getByText('Step 1 of 2')).toBeHidden();
    await saveScreen(page, testInfo, 'portal-8-confirmed-elsewhere');
    await page.setViewportSize({ width: 1024, height: 768 });
    await saveScreen(page, testInfo, 'portal-8-confirmed-elsewhere-1024');
    await page.setViewportSize({ width: 1440, height: 900 });

    // A new link for this device; only after confirming it here can this browser create the passkey.
    await page.getByRole('button', { name: 'E-mail me a new link for this device' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeVisible();
    await page.goto(await newestLink());
    await page.getByRole('button', { name: "Yes, it's me — continue" }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Now create your new passkey' })).toBeVisible();
    await page.locator('#start').click();
    await expect(page.getByRole('heading', { name: 'Who has access to your meter data' })).toBeVisible({ timeout: 20_000 });
    const record = await apiCall(register.url, 'GET', `/v1/identity-records/${created.body.ir}`, { token: bright });
    expect(record.body['identity-record'].credentials).toHaveLength(1);
  });

  test('[ours] a device that cannot verify the person: plain words and the e-mail route, not "try again"', async ({ page, register, adminBearer: admin }, testInfo) => {
    const mpxn = '1500000025';
    const email = 'no.lock@example.org';
    const bright = await bearerToken(register.url, 'bright_energy');
    expect((await apiCall(register.url, 'POST', '/v1/identity-records', { token: bright, body: { 'pii-principal': { mpxn, 'move-in-date': '2024-01-01' }, 'expressed-by': 'data-subject', email } })).status).toBe(201);
    await addAuthenticator(page, false);
    await openPortalFor(page, mpxn);
    await page.getByLabel(/Set up a passkey on this device/).check();
    await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(/\/id\/passkey\/register\?session=pks_/);
    const message = (await apiCall(register.url, 'GET', '/v1/admin/outbox?limit=1', { token: admin })).body.messages[0];
    expect(message.to).toBe(email);
    await page.goto(message.links.find((l: string) => l.includes('/id/magic/')));
    await page.getByRole('button', { name: "Yes, it's me — continue" }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Now create your new passkey' })).toBeVisible();
    await expect(page.locator('#no-uv')).toBeHidden();
    await page.locator('#start').click();
    await expect(page.locator('#no-uv')).toBeVisible();
    await expect(page.locator('#no-uv')).toContainText('This device cannot check that it’s you');
    await expect(page.locator('#no-uv').getByRole('link', { name: /go back to Central Access Register Portal/ })).toHaveAttribute('href', '/portal');
    await expect(page.locator('#status')).not.toContainText(/SimpleWebAuthn|WebAuthn|The operation either timed out|navigator\.credentials/);
    await expect(page.getByRole('button', { name: 'Try again' })).toHaveCount(0);
    await saveScreen(page, testInfo, 'portal-9-device-cannot-verify');
    await page.setViewportSize({ width: 1024, height: 768 });
    await saveScreen(page, testInfo, 'portal-9-device-cannot-verify-1024');
  });

  test('refuses to be framed', async ({ page, register }) => {
    const res = await page.request.get('/portal');
    expect(res.headers()['x-frame-options']).toBe('DENY');
    expect(res.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    const refused: string[] = [];
    page.on('console', (m) => refused.push(m.text()));
    await page.setContent(`<h1>Evil page</h1><iframe id="f" src="${register.url}/portal" width="800" height="600"></iframe>`);
    await page.waitForTimeout(1500);
    const framed = page.frames().find((f) => f.url().startsWith(`${register.url}/portal`));
    const text = framed
      ? await framed
          .locator('body')
          .innerText()
          .catch(() => '')
      : '';
    expect(text).not.toContain('See who has access');
  });
});
