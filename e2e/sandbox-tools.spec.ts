/**
 * The console's sandbox webhook tools against a private register: manage a chosen Data
 * User's subscription, send a test event of a chosen type, inspect a delivery attempt,
 * redeliver it and see the new attempt without a reload, and move the sandbox clock.
 * Screens are saved at 1440×900 and 1024×768.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page } from '@playwright/test';
import { apiCall, adminToken, DEMO, expect, saveScreen, startRegister, test, type RegisterHandle } from './support/fixtures';

test.describe.serial('sandbox webhook tools in the console', () => {
  let reg: RegisterHandle;
  let context: BrowserContext;
  let page: Page;
  let server: Server;
  let answer = 500;
  const received: Array<{ headers: Record<string, unknown>; body: string }> = [];
  let receiverUrl = '';

  test.beforeAll(async ({ browser }) => {
    reg = await startRegister();
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ headers: req.headers, body });
        res.writeHead(answer, { 'content-type': 'text/plain', 'x-receiver': 'e2e' }).end(answer < 300 ? 'thanks' : 'receiver is down');
      });
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
    context = await browser.newContext({ baseURL: reg.url, viewport: { width: 1440, height: 900 }, locale: 'en-GB' });
    page = await context.newPage();
  });

  test.afterAll(async () => {
    await context?.close().catch(() => undefined);
    server?.closeAllConnections();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    await reg?.stop();
  });

  test('creates a subscription for a chosen data user, shows its secret once, sends a test tenancy.change, pauses and resumes it', async ({}, testInfo) => {
    await page.goto('/console/');
    await page.getByLabel('Account id').fill('admin_ops');
    await page.getByLabel('Secret key').fill(DEMO.accounts.admin_ops);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    await page.getByRole('navigation').getByRole('link', { name: 'Webhooks', exact: true }).click();
    await page.getByLabel('Data user').selectOption({ label: 'Bright Energy Ltd' });
    await page.getByRole('button', { name: 'New subscription' }).click();
    await page.getByLabel('Callback URL').fill(receiverUrl);
    await page.getByLabel('Alert e-mail').fill('alerts@bright-energy.example');
    await page.getByRole('button', { name: 'Create subscription' }).click();
    await expect(page.getByText('Signing secret', { exact: true }).first()).toBeVisible();
    await expect(page.getByTestId('secret-key')).toHaveText(/^whsec_/);
    await saveScreen(page, testInfo, 'webhooks-secret-once-1440');
    await page.getByLabel('I have copied it').check();
    await page.getByRole('button', { name: 'Done' }).click();
    const row = page.getByRole('row').filter({ hasText: receiverUrl });
    await expect(row).toBeVisible();

    answer = 200;
    await row.getByRole('button', { name: 'Test' }).click();
    await page.getByLabel('Event type').selectOption('tenancy.change');
    await page.getByRole('button', { name: 'Send test event' }).click();
    await expect(page.getByTestId('test-result')).toContainText('HTTP 200');
    expect(received.at(-1)!.headers['x-dar-test']).toBe('true');
    expect(JSON.parse(received.at(-1)!.body)['event-type']).toBe('tenancy.change');
    await saveScreen(page, testInfo, 'webhooks-test-event-1440');
    await page.getByRole('button', { name: 'Close' }).first().click();

    await row.getByRole('button', { name: 'Pause' }).click();
    await expect(row.getByText('Paused')).toBeVisible();
    await row.getByRole('button', { name: 'Resume' }).click();
    await expect(row.getByText('Active')).toBeVisible();
    await saveScreen(page, testInfo, 'webhooks-subscriptions-1440');
    await page.setViewportSize({ width: 1024, height: 768 });
    await saveScreen(page, testInfo, 'webhooks-subscriptions-1024');
    await page.setViewportSize({ width: 1440, height: 900 });
  });

  test('inspects a failed attempt inline, redelivers it, and the new attempt appears without a reload', async ({}, testInfo) => {
    answer = 500;
    const token = await adminToken(reg.url);
    const cot = await apiCall(reg.url, 'POST', '/v1/admin/sandbox/cot-events', { token, body: { mpxn: DEMO.mpxn, 'effective-date': '2026-12-01', 'source-reference': `E2E-COT-${Date.now()}` } });
    expect(cot.status, JSON.stringify(cot.body)).toBe(201);
    await expect.poll(() => received.filter((r) => JSON.parse(r.body)['event-type'] === 'tenancy.change' && !r.headers['x-dar-test']).length, { timeout: 10_000 }).toBeGreaterThan(0);

    await page.getByRole('tab', { name: 'Deliveries' }).click();
    const row = page.getByRole('row').filter({ hasText: 'tenancy.change' }).first();
    await expect(row).toContainText('HTTP 500');
    await row.click();
    const inspect = page.getByTestId('attempt-inspect').first();
    await inspect.locator('summary').click();
    await expect(inspect).toContainText('x-dar-signature: sha256=');
    await expect(inspect).toContainText('x-receiver: e2e');
    await expect(inspect).toContainText('receiver is down');
    // The detail sits under its row: the list above stays in view at 1440 px.
    await expect(page.getByRole('columnheader', { name: 'Status' })).toBeInViewport();
    await saveScreen(page, testInfo, 'deliveries-inspect-1440', { fullPage: false });
    await page.setViewportSize({ width: 1024, height: 768 });
    await saveScreen(page, testInfo, 'deliveries-inspect-1024', { fullPage: false });
    await page.setViewportSize({ width: 1440, height: 900 });

    answer = 200;
    await row.getByRole('button', { name: 'Redeliver' }).click();
    await expect(row).toContainText('Delivered', { timeout: 8000 });
    await expect(page.getByTestId('attempt-inspect')).toHaveCount(2);
    await saveScreen(page, testInfo, 'deliveries-redelivered-1440');
  });

  test('moves the sandbox clock with a preset and to an exact instant', async ({}, testInfo) => {
    await page.getByRole('navigation').getByRole('link', { name: 'Settings', exact: true }).click();
    const group = page.getByRole('group', { name: 'Clock presets' });
    await expect(group).toBeVisible();
    for (const label of ['+15 min', '+1 h', '+1 day', '+30 days']) await expect(group.getByRole('button', { name: label })).toBeVisible();
    await group.getByRole('button', { name: '+1 h' }).click();
    await expect(page.getByText(/Sandbox clock moved forward/)).toBeVisible();
    const target = new Date(Date.now() + 3 * 86_400_000);
    const local = `${target.toISOString().slice(0, 16)}`;
    await page.getByLabel('Set to instant (UTC)').fill(local);
    await page.getByRole('button', { name: 'Set clock' }).click();
    await expect(page.getByText(/Sandbox clock set to/)).toBeVisible();
    const clock = await apiCall(reg.url, 'GET', '/v1/admin/clock', { token: await adminToken(reg.url) });
    expect(clock.body.now.slice(0, 16)).toBe(local);
    await saveScreen(page, testInfo, 'settings-clock-1440');
    await page.setViewportSize({ width: 1024, height: 768 });
    await saveScreen(page, testInfo, 'settings-clock-1024');
  });
});
