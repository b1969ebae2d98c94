/**
 * The operator console against a headless register with the demo data (docs/desktop.md "Operator console").
 * One signed-in page walks through the screens in order; every screen is saved as a
 * screenshot under test-results/…/screens/ and attached to the report.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { apiCall, bearerToken, DEMO, expect, freePort, ROOT, saveScreen, test } from './support/fixtures';

/** Where operators open the console (hash routes follow: /console/#/data-users/…). */
const CONSOLE = '/console/';

test('the register serves the console at /console/', async ({ register }) => {
  const res = await fetch(`${register.url}/console/`, { redirect: 'manual' });
  expect(res.status, `GET /console/ answered ${res.status} ${res.headers.get('location') ?? ''}`).toBe(200);
  expect(await res.text()).toContain('<div id="root">');
  const bare = await fetch(`${register.url}/console`, { redirect: 'manual' });
  expect([200, 301, 302]).toContain(bare.status);
  if (bare.status !== 200) expect(new URL(bare.headers.get('location') ?? '', register.url).pathname).toBe('/console/');
});

/**
 * The Electron binary is not available here, so the built main process runs under Node with
 * a stand-in for the Electron API (e2e/support/electron-stub): it must start the register,
 * create local_admin once, keep its secret across restarts, and load /console/.
 */
test('desktop shell: starts the register, signs the console in as local_admin, keeps the secret', async () => {
  const userData = mkdtempSync(join(tmpdir(), 'dar-desktop-'));
  const run = () => {
    const out = execFileSync(process.execPath, ['--import', join(ROOT, 'e2e/support/electron-stub/register.mjs'), join(ROOT, 'e2e/support/electron-stub/smoke.mjs')], {
      cwd: ROOT,
      env: { ...process.env, DAR_STUB_USERDATA: userData, DAR_STUB_APP_PATH: ROOT },
      encoding: 'utf8',
      timeout: 60_000,
    });
    return JSON.parse(out.trim().split('\n').pop() ?? '{}');
  };
  try {
    const first = run();
    expect(first.errors).toEqual([]);
    expect(first.loaded[0]).toMatch(/^http:\/\/localhost:\d+\/console\/$/);
    expect(first.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false });
    expect(first.webPreferences.preload).toMatch(/out\/preload\/index\.cjs$/);
    expect(first.credentials.accountId).toBe('local_admin');
    expect(first.otherPageGotCredentials).toBe(false);
    expect(first.tokenStatus).toBe(200);
    expect(first.selfRole).toBe('admin');
    expect(first.consoleStatus).toBe(200);
    const second = run();
    expect(second.credentials).toEqual(first.credentials);
    expect(second.tokenStatus).toBe(200);
  } finally {
    rmSync(userData, { recursive: true, force: true });
  }
});

test.describe.serial('console walkthrough (one signed-in page)', () => {
  let context: BrowserContext;
  let page: Page;
  const suffix = Date.now().toString(36).slice(-5);
  const newUser = { name: `Heatwise Analytics ${suffix}`, id: `heatwise_${suffix}`, returnUrl: `https://heatwise-${suffix}.example/dar/return` };
  let newUserSecret = '';

  test.beforeAll(async ({ browser, register }) => {
    context = await browser.newContext({ baseURL: register.url, viewport: { width: 1440, height: 900 }, locale: 'en-GB', acceptDownloads: true });
    page = await context.newPage();
  });

  test.afterAll(async () => {
    // Playwright may already have discarded this context's trace files; closing must not fail the run.
    await context?.close().catch(() => undefined);
  });

  async function nav(label: string) {
    await page.getByRole('navigation').getByRole('link', { name: label, exact: true }).click();
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
  }

  test('signs in as admin_ops (and explains a wrong secret)', async ({}, testInfo) => {
    await page.goto(CONSOLE);
    await expect(page.getByRole('heading', { name: 'DAR Console' })).toBeVisible();
    await saveScreen(page, testInfo, '01-sign-in');

    await page.getByLabel('Account id').fill('admin_ops');
    await page.getByLabel('Secret key').fill('not-the-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByText('Account id or secret key is wrong')).toBeVisible();
    await saveScreen(page, testInfo, '01b-sign-in-error');

    await page.getByLabel('Secret key').fill(DEMO.accounts.admin_ops);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    await expect(page.getByText('SANDBOX', { exact: true })).toBeVisible();
    await expect(page.getByText('Register Operations')).toBeVisible();
    await expect(page.locator('.stat').first()).toBeVisible();
    await saveScreen(page, testInfo, '02-overview');
  });

  test('creates a data user with a return URL that the directory lists', async ({ register, adminBearer }, testInfo) => {
    await nav('Data users');
    await expect(page.getByRole('link', { name: 'Bright Energy Ltd' })).toBeVisible();
    await saveScreen(page, testInfo, '03-data-users');

    await page.getByRole('button', { name: 'New data user' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Display name').fill(newUser.name);
    await dialog.getByLabel('Account id').fill(newUser.id);
    await dialog.getByLabel('Contact URL').fill(`https://heatwise-${suffix}.example/contact`);
    await dialog.getByLabel('Organisation reference').fill('SEC-OU-00777');
    await dialog.getByLabel('HH-CONSUMPTION').check();
    await dialog.getByLabel('TARIFF-IMPORT').check();
    await dialog.getByLabel('Pre-registered return URLs').fill(newUser.returnUrl);
    await saveScreen(page, testInfo, '04-new-data-user');
    await dialog.getByRole('button', { name: 'Create data user' }).click();

    const secretDialog = page.getByRole('dialog', { name: `${newUser.name} is registered` });
    await expect(secretDialog).toBeVisible();
    newUserSecret = (await secretDialog.getByTestId('secret-key').textContent())?.trim() ?? '';
    expect(newUserSecret.length).toBeGreaterThanOrEqual(32);
    await saveScreen(page, testInfo, '05-secret-shown-once');
    // Shown once: Esc asks first, and the dialog closes only once "I have copied it" is ticked.
    await page.keyboard.press('Escape');
    await expect(secretDialog.getByText('Close without the secret?')).toBeVisible();
    await secretDialog.getByRole('button', { name: 'Keep it open' }).click();
    await expect(secretDialog).toBeVisible();
    await expect(secretDialog.getByRole('button', { name: 'Done' })).toBeDisabled();
    await secretDialog.getByLabel('I have copied it').check();
    await secretDialog.getByRole('button', { name: 'Done' }).click();

    await expect(page.getByRole('heading', { level: 1, name: newUser.name })).toBeVisible();
    await expect(page.getByText(newUser.returnUrl)).toBeVisible();
    await saveScreen(page, testInfo, '06-data-user-detail');

    const account = await apiCall(register.url, 'GET', `/v1/admin/accounts/${newUser.id}`, { token: adminBearer });
    expect(account.status).toBe(200);
    expect(account.body.account['return-urls']).toEqual([newUser.returnUrl]);
    const duid: string = account.body.account.duid;
    const directory = await apiCall(register.url, 'GET', `/v1/data-users/${duid}`, { token: adminBearer });
    expect(directory.status).toBe(200);
    expect(directory.body['data-user']).toMatchObject({ duid, 'display-name': newUser.name, status: 'active' });

    // The new account can sign in with the secret it was given.
    const login = await apiCall(register.url, 'GET', '/v1/auth/token', { basic: [newUser.id, newUserSecret] });
    expect(login.status).toBe(200);
  });

  test('suspends the data user, whose sign-in is then refused with AUTH006', async ({ register }, testInfo) => {
    await page.getByRole('button', { name: 'Suspend' }).click();
    const confirm = page.getByRole('dialog', { name: `Suspend ${newUser.name}?` });
    await expect(confirm).toContainText('AUTH006');
    await confirm.getByLabel(/Reason/).fill('Contract under review');
    await saveScreen(page, testInfo, '07-suspend-confirm');
    await confirm.getByRole('button', { name: 'Suspend account' }).click();
    await expect(confirm).toBeHidden();
    await expect(page.locator('.page-meta').getByText('Suspended')).toBeVisible();
    await expect(page.getByRole('button', { name: 'Reactivate' })).toBeVisible();
    await saveScreen(page, testInfo, '08-data-user-suspended');

    const login = await apiCall(register.url, 'GET', '/v1/auth/token', { basic: [newUser.id, newUserSecret] });
    expect(login.status).toBe(401);
    expect(login.body.errors[0]['error-code']).toBe('AUTH006');
    // The reason given in the dialog is in the audit log.
    const audit = await apiCall(register.url, 'GET', `/v1/admin/audit?event-type=account.suspended&account-id=${newUser.id}`, { token: await bearerToken(register.url, 'admin_ops') });
    expect(audit.body.events[0].detail).toEqual({ reason: 'Contract under review' });
  });

  test('finds the demo customer by MPxN', async ({}, testInfo) => {
    await nav('Identity records');
    await saveScreen(page, testInfo, '09-identity-search');
    await page.getByLabel('MPxN').fill(DEMO.mpxn);
    await page.getByRole('button', { name: 'Find' }).click();
    const row = page.getByRole('row', { name: /Bright Energy Ltd/ });
    await expect(row).toBeVisible();
    await saveScreen(page, testInfo, '10-identity-results');
    await row.getByRole('link').first().click();
    await expect(page.getByRole('heading', { level: 1, name: /Identity record/ })).toBeVisible();
    // The address is masked until Reveal (an audited read).
    await expect(page.getByText('14 Harbour View')).toBeHidden();
    await page.getByRole('button', { name: 'Reveal' }).click();
    await expect(page.getByText('14 Harbour View')).toBeVisible();
    await saveScreen(page, testInfo, '11-identity-detail');
  });

  test('re-identifies the customer by magic link from the desk, confirmed through the outbox', async ({}, testInfo) => {
    await page.getByRole('link', { name: 'Re-identify customer' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Re-identification desk' })).toBeVisible();
    await expect(page.getByLabel('MPxN (MPAN or MPRN)')).toHaveValue(DEMO.mpxn);
    await expect(page.getByText(`Meter point ${DEMO.mpxn} is registered`)).toBeVisible();
    // The demo MPAN's check digit is wrong: a warning before the challenge, not a block (sandbox).
    await expect(page.getByText('Check the number', { exact: true })).toBeVisible();

    await page.getByLabel('Requesting organisation').fill('Bright');
    await page.getByRole('option', { name: /Bright Energy Ltd/ }).click();
    await expect(page.getByRole('radio', { name: /E-mail link/ })).toBeChecked();
    await saveScreen(page, testInfo, '12-desk-ready');
    await page.getByRole('button', { name: 'Start re-identification' }).click();

    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    await expect(page.getByText('c******r@example.com')).toBeVisible();
    await expect(page.locator('.live-countdown .countdown-value')).toHaveText(/^1[45]:\d\d$/);
    await saveScreen(page, testInfo, '13-desk-waiting');

    // The customer's part: the e-mail in the outbox, its link, "Yes, it's me".
    await nav('Outbox');
    await expect(page.locator('.mail-subject').first()).toHaveText("Bright Energy Ltd is asking to confirm it's you");
    await expect(page.frameLocator('iframe.mail-frame').getByText('Review the request')).toBeVisible();
    await saveScreen(page, testInfo, '14-outbox');
    const [customer] = await Promise.all([context.waitForEvent('page'), page.locator('.mail-links a.mail-link').first().click()]);
    await customer.waitForLoadState();
    await expect(customer.getByRole('button', { name: "Yes, it's me" })).toBeVisible();
    await saveScreen(customer, testInfo, '15-customer-landing');
    await customer.getByRole('button', { name: "Yes, it's me" }).click();
    await expect(customer.getByText('you’ve confirmed it’s you')).toBeVisible();
    await saveScreen(customer, testInfo, '16-customer-confirmed');
    await customer.close();

    await nav('Re-identification desk');
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Customer confirmed', { timeout: 10_000 });
    await saveScreen(page, testInfo, '17-desk-confirmed');
  });

  test('lists the token live on the pending tokens screen', async ({}, testInfo) => {
    await nav('Pending tokens');
    // Pending ones by default; the confirmed token is under "Show all".
    await expect(page.getByTestId('tokens-filter-state')).toContainText('Showing: pending');
    await page.getByTestId('tokens-filter-state').getByRole('link', { name: 'Show all' }).click();
    const row = page.getByRole('row', { name: /Bright Energy Ltd/ }).first();
    await expect(row).toContainText('Confirmed');
    await expect(row).toContainText(DEMO.mpxn);
    await saveScreen(page, testInfo, '18-tokens');
  });

  test('shows Acme Energy Services Ltd under discovered access', async ({}, testInfo) => {
    await nav('Discovered access');
    const row = page.getByRole('row', { name: new RegExp(DEMO.discoveredOrganisation) });
    await expect(row).toBeVisible();
    await expect(row).toContainText('SEC-OU-00429');
    await saveScreen(page, testInfo, '19-discovered');

    // Sandbox: act as the DCC.
    await page.getByRole('button', { name: 'Report discovered access' }).click();
    const dialog = page.getByRole('dialog', { name: 'Report discovered access' });
    await dialog.getByLabel('MPxN').fill('1900012345678');
    await dialog.getByLabel('Source reference').fill(`DCC-OBS-${suffix}`);
    await dialog.getByLabel('Organisation name').fill('Meterwatch Insights Ltd');
    await dialog.getByLabel('Organisation reference').fill('SEC-OU-00888');
    await dialog.getByLabel('HH-EXPORT').check();
    await saveScreen(page, testInfo, '19b-report-discovered');
    await dialog.getByRole('button', { name: 'Send as DCC' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('row', { name: /Meterwatch Insights Ltd/ })).toContainText('1900012345678');

    await page.getByRole('button', { name: 'Change of tenancy' }).click();
    const cot = page.getByRole('dialog', { name: 'Change of tenancy' });
    await cot.getByLabel('MPxN').fill(DEMO.mpxn);
    await cot.getByLabel('Source reference').fill(`DCC-COT-${suffix}`);
    await cot.getByRole('button', { name: 'Send as DCC' }).click();
    await expect(cot.getByText('Change of tenancy recorded')).toBeVisible();
    await expect(cot).toContainText('3 active record(s) affected');
    // The notified Data Users by name, not by DUID (the raw answer stays below).
    const notified = cot.locator('p', { hasText: 'Notified:' });
    await expect(notified).toContainText('OctopusFlux Ltd');
    await expect(notified).not.toContainText('duid_');
    await saveScreen(page, testInfo, '19c-change-of-tenancy');
    await cot.getByRole('button', { name: 'Done' }).click();
    await expect(cot).toBeHidden();
  });

  test('access records: search, detail with every section and the timeline', async ({}, testInfo) => {
    await nav('Access records');
    await expect(page.getByRole('row', { name: /OctopusFlux Ltd/ })).toBeVisible();
    await saveScreen(page, testInfo, '20-records');
    await page.getByLabel('Search').fill(DEMO.mpxn);
    await expect(page.getByText(/5 found/)).toBeVisible();
    await page
      .getByRole('row', { name: /Bright Energy Ltd/ })
      .getByRole('link')
      .first()
      .click();
    for (const section of ['Record metadata', 'Controllers (1)', 'Processing', 'Notice', 'Access event', 'Timeline']) {
      await expect(page.getByRole('heading', { name: section, exact: true })).toBeVisible();
    }
    await saveScreen(page, testInfo, '21-record-detail');
    await page.getByRole('button', { name: 'Revoke' }).click();
    await expect(page.getByRole('dialog', { name: 'Revoke this access record?' })).toBeVisible();
    await saveScreen(page, testInfo, '22-revoke-dialog');
    await page.keyboard.press('Escape');
    await expect(page.getByRole('dialog')).toBeHidden();
  });

  test('anonymising the demo identity record is refused, with the reason explained', async ({}, testInfo) => {
    await nav('Identity records');
    await page.getByLabel('MPxN').fill(DEMO.mpxn);
    await page.getByRole('button', { name: 'Find' }).click();
    await page
      .getByRole('row', { name: /Bright Energy Ltd/ })
      .getByRole('link')
      .first()
      .click();
    await page.getByRole('button', { name: 'Anonymise' }).click();
    const dialog = page.getByRole('dialog', { name: 'Anonymise this identity record?' });
    await expect(dialog).toContainText('ACTIVE access record');
    await dialog.getByLabel(/Type .* to confirm/).fill(DEMO.mpxn);
    await dialog.getByRole('button', { name: 'Anonymise permanently' }).click();
    await expect(dialog.getByText('The register refused: this record still has active access')).toBeVisible();
    await expect(dialog).toContainText('CON001');
    await saveScreen(page, testInfo, '23-anonymise-refused');
    await dialog.getByRole('button', { name: 'Close', exact: true }).last().click();
    await expect(dialog).toBeHidden();
    await expect(page.getByRole('heading', { level: 1, name: /Identity record/ })).toBeVisible();
  });

  test('revokes a record; the withdrawal webhook fails, is shown with its attempts, and is redelivered', async ({ register }, testInfo) => {
    // OctopusFlux subscribes to a loopback address where nothing listens.
    const octopus = await bearerToken(register.url, 'octopusflux');
    const dead = await freePort();
    const sub = await apiCall(register.url, 'POST', '/v1/webhooks', {
      token: octopus,
      body: { 'callback-url': `http://127.0.0.1:${dead}/dar-hook`, 'alert-email': 'ops@octopusflux.example', 'event-types': ['consent.withdrawal'] },
    });
    expect(sub.status).toBe(201);

    await nav('Access records');
    await page.getByLabel('Search').fill('OctopusFlux');
    // The search is sent after a pause in typing; clicking a row of the list it is about to
    // replace would click a detached link (seen under load).
    await expect(page).toHaveURL(/q=OctopusFlux/);
    await expect(page.getByText(/^1 found/)).toBeVisible();
    const row = page.getByRole('row', { name: /OctopusFlux Ltd/ });
    await expect(row).toHaveCount(1);
    await row.getByRole('link').first().click();
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: 'Revoke this access record?' });
    await dialog.getByLabel('Reason').selectOption('customer-request');
    await dialog.getByRole('button', { name: 'Revoke record' }).click();
    await expect(dialog).toBeHidden();
    await expect(page.locator('.page-meta').getByText('Revoked')).toBeVisible();
    await expect(page.getByText('Reason: Customer asked for it')).toBeVisible();
    await saveScreen(page, testInfo, '24-record-revoked');

    await nav('Webhooks');
    const subRow = page.getByRole('row', { name: /OctopusFlux Ltd/ });
    await expect(subRow).toContainText(`127.0.0.1:${dead}`);
    await saveScreen(page, testInfo, '25-webhooks');
    await subRow.getByRole('button', { name: 'Deliveries' }).click();
    const delivery = page.getByRole('row', { name: /consent\.withdrawal/ });
    await expect(delivery).toBeVisible();
    await expect(delivery).toContainText(/ECONNREFUSED|refused/i);
    await delivery.getByRole('button', { name: 'Show details' }).click();
    await expect(page.locator('.delivery-detail')).toContainText('customer-request');
    await saveScreen(page, testInfo, '26-webhook-deliveries');
    await delivery.getByRole('button', { name: 'Redeliver' }).click();
    await expect(page.getByText('Queued for delivery now')).toBeVisible();
  });

  test('other screens render: accounts by role and settings', async ({}, testInfo) => {
    for (const [label, shot] of [
      ['Portal accounts', '27-portal-accounts'],
      ['DCC accounts', '28-dcc-accounts'],
      ['Data providers', '29-data-providers'],
      ['Administrators', '30-administrators'],
      ['Settings', '31-settings'],
    ] as const) {
      await nav(label);
      await expect(page.locator('.loading')).toHaveCount(0);
      await saveScreen(page, testInfo, shot);
    }
    // Sandbox clock: forward one day, then back to real time.
    await page.getByLabel('Advance by (days)').fill('1');
    await page.getByRole('button', { name: 'Advance clock' }).click();
    await expect(page.getByText('Ahead of real time by 1 d')).toBeVisible();
    await page.getByRole('button', { name: 'Reset to real time' }).click();
    await page.getByRole('dialog', { name: 'Reset the sandbox clock?' }).getByRole('button', { name: 'Reset clock' }).click();
    await expect(page.getByText('In step with real time')).toBeVisible();
  });

  test('audit log: chain verified and exported as CSV', async ({}, testInfo) => {
    await nav('Audit log');
    await expect(page.getByText('Audit chain intact')).toBeVisible();
    await expect(page.getByRole('row', { name: /account\.suspended/ })).toBeVisible();
    await saveScreen(page, testInfo, '32-audit');
    await page.getByRole('button', { name: 'Export CSV' }).click();
    const dialog = page.getByRole('dialog', { name: 'Export audit events as CSV' });
    const [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export' }).click()]);
    expect(download.suggestedFilename()).toMatch(/^dar-audit-.*\.csv$/);
    const file = testInfo.outputPath(download.suggestedFilename());
    await download.saveAs(file);
    const lines = readFileSync(file, 'utf8').trim().split(/\r?\n/);
    // Every field quoted (src/shared/csv.ts), header included.
    expect(lines[0]).toBe('"id","at","actor","event-type","ak","ir","subject","detail","hash","prev-hash"');
    expect(lines.slice(1).every((l) => l === '' || /^"[^"]/.test(l))).toBe(true);
    expect(lines.length).toBeGreaterThan(10);
    expect(lines.some((l) => l.includes('account.suspended'))).toBe(true);
    await expect(dialog.getByText(/events exported/)).toBeVisible();
    await saveScreen(page, testInfo, '33-audit-exported');
    await dialog.getByRole('button', { name: 'Done' }).click();
  });

  test('signs out', async ({}, testInfo) => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    await page.reload();
    await expect(page.getByRole('button', { name: 'Sign in' })).toBeVisible();
    await saveScreen(page, testInfo, '34-signed-out');
  });
});
