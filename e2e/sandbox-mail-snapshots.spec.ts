/**
 * The console's sandbox mail catcher and snapshots against a private register whose
 * --origin names another port than the one the console talks to: new mail appears on its
 * own, search, HTML and text side by side, headers and raw source, a link opened on the
 * register the console talks to, delete one and all; save a snapshot, restore it after a
 * confirmation, reset to the demo data. Screens are saved at 1440×900 and 1024×768.
 */
import type { BrowserContext, Page } from '@playwright/test';
import { apiCall, adminToken, bearerToken, expect, freePort, saveScreen, startRegister, test, type RegisterHandle } from './support/fixtures';

test.describe.serial('sandbox mail outbox and snapshots in the console', () => {
  let reg: RegisterHandle;
  let context: BrowserContext;
  let page: Page;
  let publicOrigin = '';
  let ir = '';

  const reidentify = async () => {
    const token = await bearerToken(reg.url, 'bright_energy');
    const res = await apiCall(reg.url, 'POST', `/v1/identity-records/${ir}/re-identify`, { token, body: { method: 'magic-link' } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body['magic-link']['token-ref'] as string;
  };

  test.beforeAll(async ({ browser }) => {
    // Links name this origin; the register is reached on its own port (the console's).
    publicOrigin = `http://localhost:${await freePort()}`;
    reg = await startRegister({ args: ['--origin', publicOrigin] });
    const token = await bearerToken(reg.url, 'bright_energy');
    const found = await apiCall(reg.url, 'GET', '/v1/identity-records?mpxn=2312345678901', { token });
    ir = found.body['identity-records'][0].ir;
    context = await browser.newContext({ baseURL: reg.url, viewport: { width: 1440, height: 900 }, locale: 'en-GB' });
    page = await context.newPage();
    await page.goto('/console/');
    await page.getByLabel('Account id').fill('admin_ops');
    await page.getByLabel('Secret key').fill('admin-secret-demo');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  });

  test.afterAll(async () => {
    await context?.close().catch(() => undefined);
    await reg?.stop();
  });

  test('new mail appears live; search, side by side, headers, raw source; a link opens on this register; delete one and all', async ({}, testInfo) => {
    await page.getByRole('navigation').getByRole('link', { name: 'Outbox', exact: true }).click();
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-connected', 'true');
    const messages = page.getByRole('list', { name: 'Messages' }).getByRole('listitem');
    const before = await messages.count();

    // A message arrives while the screen is open: no reload.
    const ref = await reidentify();
    await expect(messages).toHaveCount(before + 1, { timeout: 6000 });
    await messages.first().click();
    await expect(page.getByTestId('mail-side-by-side')).toBeVisible();
    await expect(page.getByLabel('Plain text')).toContainText('/id/magic/');
    await expect(page.frameLocator('iframe.mail-frame').locator('body')).toContainText('Bright Energy');
    await saveScreen(page, testInfo, 'outbox-side-by-side-1440', { fullPage: false });
    await page.setViewportSize({ width: 1024, height: 768 });
    await saveScreen(page, testInfo, 'outbox-side-by-side-1024', { fullPage: false });
    await page.setViewportSize({ width: 1440, height: 900 });

    await page.getByRole('tab', { name: 'Headers' }).click();
    const headers = page.getByRole('table', { name: 'Headers' });
    await expect(headers.getByRole('row').filter({ hasText: /^From/ })).toContainText('no-reply@dar.localhost');
    await expect(headers.getByRole('row').filter({ hasText: 'X-Dar-Purpose' })).toContainText('reidentification');
    await page.getByRole('tab', { name: 'Raw source' }).click();
    await expect(page.getByLabel('Raw source')).toContainText('MIME-Version: 1.0');
    await expect(page.getByLabel('Raw source')).toContainText('Content-Type: multipart/alternative');
    await saveScreen(page, testInfo, 'outbox-raw-source-1440', { fullPage: false });

    // The link names --origin's port; the console opens it on the register it talks to, and it confirms.
    const apiList = await apiCall(reg.url, 'GET', `/v1/admin/outbox?ref=${ref}`, { token: await adminToken(reg.url) });
    expect(apiList.body.messages[0].links[0].startsWith(`${publicOrigin}/id/magic/`)).toBe(true);
    const link = page.locator('.mail-links a').first();
    await expect(link).toHaveAttribute('href', new RegExp(`^${reg.url.replace(/[.:/]/g, '\\$&')}/id/magic/`));
    const [customer] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await customer.getByRole('button', { name: /Yes, it.s me/ }).click();
    await expect(customer.getByText(/confirmed it’s you/)).toBeVisible();
    await customer.close();
    const status = await apiCall(reg.url, 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`, { token: await bearerToken(reg.url, 'bright_energy') });
    expect(status.body.status).toBe('confirmed');

    // Server-side search.
    await page.getByLabel('Search messages').fill('no-such-words-anywhere');
    await expect(page.getByText('No messages match')).toBeVisible();
    await page.getByLabel('Search messages').fill('customer@example');
    await expect(messages).toHaveCount(before + 1);
    await page.getByLabel('Search messages').fill('');
    await expect(messages).toHaveCount(before + 1);

    // Delete one, then all.
    await messages.first().click();
    await page.locator('.mail-view').getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Delete message' }).click();
    await expect(messages).toHaveCount(before);
    if (before > 0) {
      await page.getByRole('button', { name: 'Delete all' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Delete all' }).click();
    }
    await expect(page.getByText('No e-mail yet')).toBeVisible();
    const audit = await apiCall(reg.url, 'GET', '/v1/admin/audit?event-type=mail.deleted', { token: await adminToken(reg.url) });
    expect(audit.body.events[0].actor).toBe('admin_ops');
  });

  test('saves a snapshot, restores it after a confirmation (the token is pending again), resets to the demo data', async ({}, testInfo) => {
    const ref = await reidentify();
    await page.getByRole('navigation').getByRole('link', { name: 'Settings', exact: true }).click();
    await page.getByLabel('Snapshot name').fill('before-confirming');
    await page.getByRole('button', { name: 'Save snapshot' }).click();
    await expect(page.getByText(/Snapshot "before-confirming" saved/)).toBeVisible();
    const row = page.getByRole('table', { name: 'Snapshots' }).getByRole('row').filter({ hasText: 'before-confirming' });
    await expect(row).toBeVisible();

    // A change after the snapshot: the operator cancels the pending token.
    const admin = await adminToken(reg.url);
    const cancel = await apiCall(reg.url, 'POST', `/v1/admin/reidentifications/${ref}/cancel`, { token: admin });
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(200);
    const statusOf = async () => (await apiCall(reg.url, 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`, { token: await bearerToken(reg.url, 'bright_energy') })).body.status;
    expect(await statusOf()).not.toBe('pending');

    await row.getByRole('button', { name: 'Restore' }).click();
    await expect(page.getByRole('dialog')).toContainText('Restore "before-confirming"?');
    await saveScreen(page, testInfo, 'snapshots-restore-confirm-1440', { fullPage: false });
    await page.getByRole('dialog').getByRole('button', { name: 'Restore snapshot' }).click();
    await expect(page.getByText('Register restored to "before-confirming"')).toBeVisible();
    expect(await statusOf()).toBe('pending');
    const verify = await apiCall(reg.url, 'GET', '/v1/admin/audit/verify', { token: await adminToken(reg.url) });
    expect(verify.body.intact).toBe(true);
    await saveScreen(page, testInfo, 'snapshots-1440');
    await page.setViewportSize({ width: 1024, height: 768 });
    await saveScreen(page, testInfo, 'snapshots-1024');
    await page.setViewportSize({ width: 1440, height: 900 });

    await page.getByRole('button', { name: 'Reset to demo data' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Reset to demo data' }).click();
    await expect(page.getByText('Register reset to the demo data')).toBeVisible();
    expect((await apiCall(reg.url, 'GET', `/v1/identity-records/${ir}/re-identify/${ref}`, { token: await bearerToken(reg.url, 'bright_energy') })).status).toBe(404);
    // The snapshot is still listed after a reset.
    await expect(row).toBeVisible();
  });
});
