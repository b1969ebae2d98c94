/**
 * The support role in the console, on a register of its own: what support staff see and
 * may do (identity look-ups masked until Reveal, the re-identification desk with Cancel and
 * Send again, read-only lists), what is hidden from them, and what the register refuses.
 * Then an administrator's "Sign out everywhere". Screens are saved at 1440×900 and 1024×768.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { apiCall, bearerToken, DEMO, expect, registerCustomer, saveScreen, SCREEN_SIZES, startRegister, test, type RegisterHandle } from './support/fixtures';

const CONSOLE = '/console/';
/** A customer of this spec's own, with an e-mail address (registered by Bright Energy). */
const MPXN = '1900000077';

test.describe.serial('support role in the console', () => {
  let reg: RegisterHandle;
  let context: BrowserContext;
  let page: Page;
  let admin: string;

  /** Screenshots of the current screen at both sizes (back to 1440×900 afterwards). */
  async function shots(name: string, testInfo: Parameters<typeof saveScreen>[1]) {
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      await saveScreen(page, testInfo, `support-${name}-${size.width}x${size.height}`);
    }
    await page.setViewportSize(SCREEN_SIZES[0]);
  }

  async function nav(label: string) {
    // A link's name may end with its count badge ("Pending tokens 2").
    await page
      .getByRole('navigation')
      .getByRole('link', { name: new RegExp(`^${label}( \\d+)?$`) })
      .click();
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  }

  test.beforeAll(async ({ browser }) => {
    reg = await startRegister();
    admin = await bearerToken(reg.url, 'admin_ops');
    const bright = await bearerToken(reg.url, 'bright_energy');
    await registerCustomer(reg.url, bright, { mpxn: MPXN, moveIn: '2022-04-01', address: { addressLine1: '7 Quarry Lane', townCity: 'Leeds', postcode: 'LS6 2AB' }, email: 'pat.support@example.org' });
    context = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB' });
    page = await context.newPage();
  });

  test.afterAll(async () => {
    await context?.close().catch(() => undefined);
    await reg?.stop();
  });

  test('support_desk signs in; the navigation has only what support may use', async ({}, testInfo) => {
    await page.goto(CONSOLE);
    await page.getByLabel('Account id').fill('support_desk');
    await page.getByLabel('Secret key').fill(DEMO.accounts.support_desk);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    await expect(page.getByText('support_desk · support')).toBeVisible();
    const navigation = page.getByRole('navigation');
    for (const allowed of ['Overview', 'Identity records', 'Re-identification desk', 'Pending tokens', 'Access records', 'Discovered access', 'Audit log'])
      await expect(navigation.getByRole('link', { name: new RegExp(`^${allowed}( \\d+)?$`) })).toBeVisible();
    for (const hidden of ['Data users', 'Portal accounts', 'Administrators', 'Support staff', 'Webhooks', 'Outbox', 'Settings']) await expect(navigation.getByRole('link', { name: hidden, exact: true })).toHaveCount(0);
    await expect(page.getByText('Undelivered webhooks')).toHaveCount(0);
    await shots('01-overview', testInfo);
  });

  test('identity records: masked until Reveal, which is audited; no Anonymise', async ({}, testInfo) => {
    await nav('Identity records');
    await page.getByLabel('MPxN').fill(MPXN);
    await page.getByRole('button', { name: 'Find' }).click();
    const row = page.getByRole('row', { name: /Bright Energy Ltd/ });
    await expect(row).toContainText('LS6 •••');
    await shots('02-identity-results', testInfo);
    await row.getByRole('link').first().click();
    await expect(page.getByRole('heading', { level: 1, name: /Identity record/ })).toBeVisible();
    await expect(page.getByText('7 Quarry Lane')).toHaveCount(0);
    await expect(page.getByTestId('ir-email')).toHaveText(/^p\*+t@example\.org$/);
    await expect(page.getByRole('button', { name: 'Anonymise' })).toHaveCount(0);
    await shots('03-identity-masked', testInfo);

    await page.getByRole('button', { name: 'Reveal' }).click();
    await expect(page.getByText('7 Quarry Lane')).toBeVisible();
    await expect(page.getByTestId('ir-email')).toHaveText('pat.support@example.org');
    await shots('04-identity-revealed', testInfo);

    const audit = await apiCall(reg.url, 'GET', '/v1/admin/audit?event-type=identity-record.read&limit=5', { token: admin });
    expect(audit.body.events[0]).toMatchObject({ actor: 'support_desk', detail: { revealed: true } });
    expect(audit.body.events[0].detail.from).toMatch(/^(::ffff:)?127\.0\.0\.1$|^::1$/);
  });

  test('the desk: start, Cancel (the customer link then says cancelled), Send again, and Cancel on the tokens screen', async ({}, testInfo) => {
    await page.getByRole('link', { name: 'Re-identify customer' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Re-identification desk' })).toBeVisible();
    await expect(page.getByText(`Meter point ${MPXN} is registered`)).toBeVisible();
    await page.getByLabel('Requesting organisation').fill('Octopus');
    await page.getByRole('option', { name: /OctopusFlux Ltd/ }).click();
    await page.getByRole('button', { name: 'Start re-identification' }).click();
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    // The outbox is for administrators: no link to it on the support desk.
    await expect(page.getByRole('link', { name: /outbox/i })).toHaveCount(0);
    await shots('05-desk-waiting', testInfo);

    await page.getByRole('button', { name: 'Cancel challenge' }).click();
    const confirm = page.getByRole('dialog', { name: 'Cancel this re-identification?' });
    await shots('06-desk-cancel-confirm', testInfo);
    await confirm.getByRole('button', { name: 'Cancel the challenge' }).click();
    await expect(confirm).toBeHidden();
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Cancelled');
    await shots('07-desk-cancelled', testInfo);

    // The customer's link (read from the outbox by an administrator) now says it was cancelled.
    const tokens = await apiCall(reg.url, 'GET', `/v1/admin/reidentifications?status=cancelled&mpxn=${MPXN}`, { token: admin });
    const cancelledRef: string = tokens.body.tokens[0]['token-ref'];
    const mail = await apiCall(reg.url, 'GET', `/v1/admin/outbox?ref=${cancelledRef}`, { token: admin });
    const customer = await context.newPage();
    await customer.goto(mail.body.messages[0].links[0]);
    await expect(customer.getByRole('heading', { name: 'This request was cancelled' })).toBeVisible();
    await expect(customer.getByRole('button', { name: "Yes, it's me" })).toHaveCount(0);
    await customer.screenshot({ path: testInfo.outputPath('screens', 'support-08-customer-link-cancelled.png') });
    await customer.close();

    await page.getByRole('button', { name: 'Send again' }).click();
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    // Send again is a new challenge: a new token-ref in the URL and a new e-mail to the customer, whose link works.
    await expect.poll(() => new URL(page.url()).hash).not.toContain(cancelledRef);
    const resentRef = new URLSearchParams(new URL(page.url()).hash.split('?')[1] ?? '').get('token') ?? '';
    expect(resentRef).toMatch(/\S/);
    expect(resentRef).not.toBe(cancelledRef);
    const resent = await apiCall(reg.url, 'GET', `/v1/admin/outbox?ref=${resentRef}`, { token: admin });
    expect(resent.body.messages).toHaveLength(1);
    expect(resent.body.messages[0].to).toBe(mail.body.messages[0].to);
    const again = await context.newPage();
    await again.goto(resent.body.messages[0].links[0]);
    await expect(again.getByRole('button', { name: "Yes, it's me" })).toBeVisible();
    await again.close();

    await nav('Pending tokens');
    await page.getByLabel('Status').selectOption('pending');
    const pending = page.getByRole('row', { name: new RegExp(MPXN) }).first();
    await expect(pending).toContainText('Pending');
    await shots('09-tokens-pending', testInfo);
    await pending.getByRole('button', { name: /^Cancel/ }).click();
    await page.getByRole('dialog', { name: 'Cancel this re-identification?' }).getByRole('button', { name: 'Cancel the challenge' }).click();
    await expect(page.getByText('Re-identification cancelled').last()).toBeVisible();
    await page.getByLabel('Status').selectOption('cancelled');
    await expect(page.getByRole('row', { name: new RegExp(MPXN) })).toHaveCount(2);
    await shots('10-tokens-cancelled', testInfo);
  });

  test('read-only access records: no Revoke; administrators’ screens are refused, and so is the API', async ({}, testInfo) => {
    await nav('Access records');
    await page
      .getByRole('row', { name: /Active/ })
      .first()
      .getByRole('link')
      .first()
      .click();
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await expect(page.getByRole('button', { name: 'Revoke' })).toHaveCount(0);
    await shots('11-record-read-only', testInfo);

    await page.goto(`${CONSOLE}#/data-users`);
    await expect(page.getByRole('heading', { level: 1, name: 'Not available to support staff' })).toBeVisible();
    await shots('12-not-allowed', testInfo);

    // The console's own session, used for an action it hides: the register refuses it.
    const refused = await page.evaluate(async () => {
      const session = JSON.parse((globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('dar.console.session') ?? '{}') as { token?: string };
      const res = await fetch('/v1/admin/accounts/bright_energy/suspend', { method: 'POST', headers: { authorization: `Bearer ${session.token}`, 'content-type': 'application/json' }, body: '{"reason":"x"}' });
      return { status: res.status, body: (await res.json()) as { errors: { 'error-code': string }[] } };
    });
    expect(refused.status).toBe(403);
    expect(refused.body.errors[0]['error-code']).toBe('AUTH003');
    expect((await apiCall(reg.url, 'GET', '/v1/admin/accounts/bright_energy', { token: admin })).body.account.status).toBe('active');
  });

  test('an administrator signs support_desk out everywhere; its console session ends', async ({ browser }, testInfo) => {
    const adminContext = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB' });
    const adminPage = await adminContext.newPage();
    try {
      await adminPage.goto(CONSOLE);
      await adminPage.getByLabel('Account id').fill('admin_ops');
      await adminPage.getByLabel('Secret key').fill(DEMO.accounts.admin_ops);
      await adminPage.getByRole('button', { name: 'Sign in' }).click();
      await adminPage.getByRole('navigation').getByRole('link', { name: 'Support staff', exact: true }).click();
      await adminPage.getByRole('link', { name: 'Customer Support Desk' }).click();
      await expect(adminPage.getByRole('heading', { level: 1, name: 'Customer Support Desk' })).toBeVisible();
      await adminPage.getByRole('button', { name: 'Sign out everywhere' }).click();
      const dialog = adminPage.getByRole('dialog', { name: 'Sign Customer Support Desk out everywhere?' });
      for (const size of SCREEN_SIZES) {
        await adminPage.setViewportSize(size);
        await saveScreen(adminPage, testInfo, `admin-13-sign-out-everywhere-${size.width}x${size.height}`);
      }
      await adminPage.setViewportSize(SCREEN_SIZES[0]);
      await dialog.getByRole('button', { name: 'Sign out everywhere' }).click();
      await expect(adminPage.getByText('Customer Support Desk signed out everywhere')).toBeVisible();
      await saveScreen(adminPage, testInfo, 'admin-14-signed-out-toast-1440x900');
    } finally {
      await adminContext.close();
    }
    // support_desk's console token has ended: its next request answers 401.
    const after = await page.evaluate(async () => {
      const session = JSON.parse((globalThis as unknown as { sessionStorage: { getItem(k: string): string | null } }).sessionStorage.getItem('dar.console.session') ?? '{}') as { token?: string };
      return (await fetch('/v1/self', { headers: { authorization: `Bearer ${session.token}` } })).status;
    });
    expect(after).toBe(401);
  });
});
