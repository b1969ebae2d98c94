/**
 * The token and webhook delivery lists at scale (docs/api.md "Admin lists") in the console: a
 * sort from the column header in the URL and in the API's order, the export dialog streaming
 * the current filter, and at 1024×768 the key columns (status, expiry, Redeliver) in view.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from '@playwright/test';
import { adminToken, apiCall, DEMO, expect, startRegister, test, type RegisterHandle } from './support/fixtures';

test.describe.serial('token and delivery lists', () => {
  let reg: RegisterHandle;
  let server: Server;
  let context: BrowserContext;
  let page: Page;
  let token: string;

  test.beforeAll(async ({ browser }) => {
    reg = await startRegister();
    token = await adminToken(reg.url);
    // A receiver that refuses, so deliveries stay pending with a next attempt (and Redeliver shows).
    server = createServer((_req, res) => res.writeHead(500).end('down'));
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const bright = (await apiCall(reg.url, 'GET', '/v1/admin/accounts/bright_energy', { token })).body;
    const duid = bright.account?.duid ?? bright.duid;
    const hook = await apiCall(reg.url, 'POST', '/v1/admin/webhooks', { token, body: { duid, 'callback-url': `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`, 'alert-email': 'alerts@bright-energy.example' } });
    expect(hook.status, JSON.stringify(hook.body)).toBe(201);
    for (let i = 0; i < 3; i++) expect((await apiCall(reg.url, 'POST', '/v1/admin/reidentifications', { token, body: { mpxn: DEMO.mpxn, method: 'magic-link', 'on-behalf-of': 'octopusflux' } })).status).toBe(200);
    // A change of tenancy queues a tenancy.change delivery to the subscriber (test events are not queued).
    const cot = await apiCall(reg.url, 'POST', '/v1/admin/sandbox/cot-events', { token, body: { mpxn: DEMO.mpxn, 'effective-date': '2026-12-01', 'source-reference': `E2E-COT-${Date.now()}` } });
    expect(cot.status, JSON.stringify(cot.body)).toBe(201);
    context = await browser.newContext({ baseURL: reg.url, viewport: { width: 1024, height: 768 }, locale: 'en-GB' });
    page = await context.newPage();
    await page.goto('/console/');
    await page.getByLabel('Account id').fill('admin_ops');
    await page.getByLabel('Secret key').fill(DEMO.accounts.admin_ops);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  });

  test.afterAll(async () => {
    await context?.close().catch(() => undefined);
    server?.closeAllConnections();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    await reg?.stop();
  });

  test('tokens: pending by default, sort by expiry from the header, the export dialog names the filter, key columns in view at 1024', async () => {
    await page.goto('/console/#/tokens');
    await expect(page.getByTestId('tokens-filter-state')).toContainText('Showing: pending');
    // The change of tenancy above ended these tokens; all of them, then.
    await page.getByTestId('tokens-filter-state').getByRole('link', { name: 'Show all' }).click();
    await expect(page.getByTestId('tokens-filter-state')).toContainText('Showing: all tokens');
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 1–\d+ of \d+$/);
    await page.getByRole('button', { name: /^Expires/ }).click();
    await expect(page.getByRole('columnheader', { name: /Expires/ })).toHaveAttribute('aria-sort', 'ascending');
    expect(page.url()).toContain('sort=expiry');
    const api = await apiCall(reg.url, 'GET', '/v1/admin/reidentifications?sort=expiry&limit=50', { token });
    await expect(page.locator('table tbody tr td:first-child code')).toHaveText(api.body.tokens.map((t: { 'token-ref': string }) => t['token-ref']));
    for (const name of [/Status/, /Expires/]) await expect(page.getByRole('columnheader', { name })).toBeInViewport();
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const dialog = page.getByRole('dialog');
    await expect(dialog).toContainText(`${api.body.total} tokens`);
  });

  test('deliveries: sort by next attempt, Data User names, Redeliver in view at 1024', async () => {
    await page.goto('/console/#/webhooks?tab=deliveries');
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 1–\d+ of \d+$/);
    await page.getByRole('button', { name: /^Next attempt/ }).click();
    await expect(page.getByRole('columnheader', { name: /Next attempt/ })).toHaveAttribute('aria-sort', 'ascending');
    expect(page.url()).toContain('sort=next-attempt');
    await expect(page.getByRole('row').filter({ hasText: 'tenancy.change' }).first()).toContainText('Bright Energy');
    await expect(page.getByRole('button', { name: /^Redeliver evt_/ }).first()).toBeInViewport({ timeout: 15_000 });
    await expect(page.getByRole('columnheader', { name: /Status/ })).toBeInViewport();
  });
});
