/**
 * The re-identification desk and the tokens screen, on a register of their own:
 * - the desk's organisation, method, meter point and live session are in the URL (never a
 *   secret), so they survive the menu, a reload, and opening the URL in another tab, which
 *   resumes polling the live session;
 * - the "Live" indicator turns grey while the register is stopped, green once it answers again;
 * - "Pending tokens" shows pending tokens by default and says so.
 * Screens are saved at 1440×900 and 1024×768.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from '@playwright/test';
import { apiCall, bearerToken, DEMO, expect, saveScreen, SCREEN_SIZES, startRegister, test, type RegisterHandle } from './support/fixtures';

const MPXN = '1900000088';

test.describe.serial('desk state in the URL, live indicator, pending tokens', () => {
  let dataDir: string;
  let reg: RegisterHandle;
  let context: BrowserContext;
  let page: Page;
  let admin: string;
  let deskUrl = '';
  let tokenRef = '';

  async function shots(p: Page, name: string, testInfo: Parameters<typeof saveScreen>[1]) {
    for (const size of SCREEN_SIZES) {
      await p.setViewportSize(size);
      await saveScreen(p, testInfo, `desk-${name}-${size.width}x${size.height}`);
    }
    await p.setViewportSize(SCREEN_SIZES[0]);
  }

  async function nav(p: Page, label: string) {
    await p
      .getByRole('navigation')
      .getByRole('link', { name: new RegExp(`^${label}( \\d+)?$`) })
      .click();
    await expect(p.getByRole('heading', { level: 1, name: label })).toBeVisible();
  }

  async function signedInPage(browser: Browser): Promise<{ ctx: BrowserContext; p: Page }> {
    const ctx = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB' });
    const p = await ctx.newPage();
    await p.goto('/console/');
    await p.getByLabel('Account id').fill('admin_ops');
    await p.getByLabel('Secret key').fill(DEMO.accounts.admin_ops);
    await p.getByRole('button', { name: 'Sign in' }).click();
    await expect(p.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    return { ctx, p };
  }

  function hashParams(p: Page): URLSearchParams {
    const hash = new URL(p.url()).hash;
    return new URLSearchParams(hash.slice(hash.indexOf('?') + 1));
  }

  test.beforeAll(async ({ browser }) => {
    // A data folder of our own, so the register can be stopped and started again on it.
    dataDir = mkdtempSync(join(tmpdir(), 'dar-e2e-desk-'));
    reg = await startRegister({ dataDir });
    admin = await bearerToken(reg.url, 'admin_ops');
    const created = await apiCall(reg.url, 'POST', '/v1/identity-records', {
      token: await bearerToken(reg.url, 'bright_energy'),
      body: { 'pii-principal': { mpxn: MPXN, 'move-in-date': '2023-03-01' }, 'expressed-by': 'data-subject', email: 'sam.desk@example.org' },
    });
    expect(created.status).toBe(201);
    ({ ctx: context, p: page } = await signedInPage(browser));
  });

  test.afterAll(async () => {
    await context?.close().catch(() => undefined);
    await reg?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('the chosen organisation, method and live session are in the URL, without secrets', async ({}, testInfo) => {
    await page.goto(`/console/#/reidentify?mpxn=${MPXN}`);
    await expect(page.getByText(`Meter point ${MPXN} is registered`)).toBeVisible();
    await page.getByLabel('Requesting organisation').fill('Bright');
    await page.getByRole('option', { name: /Bright Energy Ltd/ }).click();
    await expect(page.getByRole('radio', { name: /E-mail link/ })).toBeChecked();
    await expect.poll(() => hashParams(page).get('on-behalf-of')).toBe('bright_energy');
    expect(hashParams(page).get('method')).toBe('magic-link');
    await shots(page, 'ready', testInfo);

    await page.getByRole('button', { name: 'Start re-identification' }).click();
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    await expect.poll(() => hashParams(page).get('token')).toMatch(/^mlr_/);
    const params = hashParams(page);
    tokenRef = params.get('token')!;
    // Only these four: the token-ref grants nothing, the magic link's secret stays out of the URL.
    expect([...params.keys()].sort()).toEqual(['method', 'mpxn', 'on-behalf-of', 'token']);
    expect(params.get('mpxn')).toBe(MPXN);
    // The e-mailed link (the secret) is nowhere in the console's URL.
    const mail = await apiCall(reg.url, 'GET', `/v1/admin/outbox?ref=${tokenRef}`, { token: admin });
    const links = JSON.stringify(mail.body.messages).match(/http:\/\/localhost:\d+\/[^"\s<\\]+/g) ?? [];
    expect(links.length).toBeGreaterThan(0);
    for (const l of links) expect(page.url()).not.toContain(new URL(l).pathname + new URL(l).search);
    deskUrl = page.url();
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-connected', 'true');
    await shots(page, 'waiting', testInfo);

    // Away through the menu and back: the same session.
    await nav(page, 'Pending tokens');
    await nav(page, 'Re-identification desk');
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    expect(hashParams(page).get('token')).toBe(tokenRef);

    // A reload: the form and the session come back from the URL.
    await page.reload();
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    await expect(page.getByText(tokenRef, { exact: true })).toBeVisible();
    await expect(page.getByLabel('Requesting organisation')).toContainText('Bright Energy Ltd');
    await expect(page.getByRole('radio', { name: /E-mail link/ })).toBeChecked();
    await expect(page.getByLabel('MPxN (MPAN or MPRN)')).toHaveValue(MPXN);
  });

  test('the URL opened in a second tab shows the same session and keeps polling it', async ({ browser }, testInfo) => {
    const { ctx, p } = await signedInPage(browser);
    try {
      await p.goto(deskUrl);
      await expect(p.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
      await expect(p.getByText(tokenRef, { exact: true })).toBeVisible();
      await expect(p.getByLabel('Requesting organisation')).toContainText('Bright Energy Ltd');
      await expect(p.getByRole('radio', { name: /E-mail link/ })).toBeChecked();
      // Polling resumed: a change made elsewhere reaches this tab.
      const cancel = await apiCall(reg.url, 'POST', `/v1/admin/reidentifications/${tokenRef}/cancel`, { token: admin });
      expect(cancel.status).toBe(200);
      await expect(p.getByTestId('desk-status-headline')).toHaveText('Cancelled', { timeout: 10_000 });
      await expect(page.getByTestId('desk-status-headline')).toHaveText('Cancelled', { timeout: 10_000 });
      await saveScreen(p, testInfo, 'desk-second-tab-cancelled-1440x900');
    } finally {
      await ctx.close().catch(() => undefined);
    }
  });

  test('"Pending tokens" shows pending tokens by default, and says so', async ({}, testInfo) => {
    const pending = await apiCall(reg.url, 'POST', '/v1/admin/reidentifications', { token: admin, body: { mpxn: MPXN, method: 'magic-link', 'on-behalf-of': 'bright_energy' } });
    expect(pending.status).toBe(200);
    const pendingRef: string = pending.body['magic-link']['token-ref'];
    await nav(page, 'Pending tokens');
    await expect(page.getByTestId('tokens-filter-state')).toContainText('Showing: pending');
    await expect(page.getByRole('row', { name: new RegExp(pendingRef) })).toBeVisible();
    await expect(page.getByRole('row', { name: new RegExp(tokenRef) })).toHaveCount(0);
    await expect(page.getByLabel('Status')).toHaveValue('pending');
    await shots(page, 'tokens-pending', testInfo);

    await page.getByTestId('tokens-filter-state').getByRole('link', { name: 'Show all' }).click();
    await expect(page.getByTestId('tokens-filter-state')).toContainText('Showing: all tokens');
    await expect(page.getByRole('row', { name: new RegExp(tokenRef) })).toContainText('Cancelled');
    await expect(page.getByRole('row', { name: new RegExp(pendingRef) })).toBeVisible();
    await shots(page, 'tokens-all', testInfo);

    // The desk follows the still-pending token for the last test.
    await page.goto(`/console/#/reidentify?token=${pendingRef}`);
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    // Only the token-ref in the link: the rest of the desk's URL and form follow from the token.
    await expect.poll(() => hashParams(page).get('on-behalf-of')).toBe('bright_energy');
    expect(hashParams(page).get('mpxn')).toBe(MPXN);
    expect(hashParams(page).get('method')).toBe('magic-link');
    await expect(page.getByLabel('Requesting organisation')).toContainText('Bright Energy Ltd');
    await expect(page.getByLabel('MPxN (MPAN or MPRN)')).toHaveValue(MPXN);
  });

  test('the Live indicator turns grey while the register is stopped, and green when it answers again', async ({}, testInfo) => {
    const live = page.getByTestId('live-indicator');
    await expect(live).toHaveAttribute('data-connected', 'true');
    await expect(live).toContainText('Checking every 2 s');
    const port = reg.port;
    await reg.stop();
    await expect(live).toHaveAttribute('data-connected', 'false', { timeout: 15_000 });
    await expect(live).toContainText('Not connected');
    await shots(page, 'not-connected', testInfo);

    // The tokens screen's indicator too (the console's files are already loaded).
    await nav(page, 'Pending tokens');
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-connected', 'false', { timeout: 15_000 });
    await shots(page, 'tokens-not-connected', testInfo);

    // Back on the same port and data: green again without a reload.
    reg = await startRegister({ dataDir, port, seed: false });
    await expect(page.getByTestId('live-indicator')).toHaveAttribute('data-connected', 'true', { timeout: 20_000 });
    await expect(page.getByTestId('live-indicator')).toContainText('Live');
  });
});
