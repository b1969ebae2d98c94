/**
 * Every screen, at both window sizes: the console (each route, detail screens and the dialogs
 * worth seeing, as administrator and as support), the customer portal and the customer
 * ceremony pages. Each is saved as test-results/screenshots/<screen>-<w>x<h>.png (not committed)
 * and checked in the DOM: no key column of a table (state, status, expiry, outcome, action
 * buttons) may be clipped. A key cell must lie inside the window, or inside a container that
 * scrolls sideways with a visible scrollbar.
 *
 * This spec launches Chromium itself without `--hide-scrollbars` (a Playwright default in
 * headless runs), so scrollbars are laid out and drawn as the user sees them.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from '@playwright/test';
import { apiCall, bearerToken, chromiumLaunchOptions, DEMO, expect, registerCustomer, ROOT, SCREEN_SIZES, startRegister, test, type RegisterHandle } from './support/fixtures';

const SHOTS = join(ROOT, 'test-results', 'screenshots');
const MPXN = '1700000009';

interface Clip {
  table: string;
  column: string;
  why: string;
}

/**
 * Runs in the page. Key columns: a header named state/status/expiry/expires/outcome/actions,
 * or a column whose cells hold buttons. For each key column the header and the first rows'
 * cells are walked up to the window through every box that clips sideways.
 */
const FIND_CLIPPED_KEY_COLUMNS = `(() => {
  const KEY = /^(state|status|expiry|expires|outcome|actions?)$/i;
  const vw = document.documentElement.clientWidth;
  const desc = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (typeof el.className === 'string' && el.className ? '.' + el.className.trim().split(/\\s+/).join('.') : '');
  function clipped(cell) {
    const r = cell.getBoundingClientRect();
    if (r.width < 1) return 'has no width';
    let left = r.left, right = r.right;
    for (let el = cell.parentElement; el && el !== document.body && el !== document.documentElement; el = el.parentElement) {
      const cs = getComputedStyle(el);
      if (cs.overflowX === 'visible') continue;
      const er = el.getBoundingClientRect();
      if (left >= er.left - 1 && right <= er.right + 1) continue;
      const scrolls = (cs.overflowX === 'auto' || cs.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1;
      if (!scrolls) return 'cut off by ' + desc(el) + ' (cell ' + Math.round(left) + '–' + Math.round(right) + ' px, box ' + Math.round(er.left) + '–' + Math.round(er.right) + ' px)';
      const bar = el.offsetHeight - el.clientHeight - parseFloat(cs.borderTopWidth) - parseFloat(cs.borderBottomWidth);
      if (bar < 4) return 'out of view in ' + desc(el) + ', which scrolls sideways without a visible scrollbar';
      // Reachable by that scrollbar: from here up, the scrolling box itself must be in view.
      left = er.left;
      right = er.right;
    }
    if (left < -1 || right > vw + 1) return 'outside the window (' + Math.round(left) + '–' + Math.round(right) + ' px of 0–' + vw + ' px)';
    return null;
  }
  const problems = [];
  const tables = [...document.querySelectorAll('table')].filter((t) => t.getClientRects().length > 0);
  tables.forEach((table, i) => {
    const head = table.tHead && table.tHead.rows[0];
    if (!head) return;
    const headers = [...head.cells];
    const rows = [...(table.tBodies[0] ? table.tBodies[0].rows : [])].filter((r) => r.cells.length === headers.length).slice(0, 8);
    const label = (table.caption && table.caption.textContent.trim()) || (table.closest('section, .panel, dialog')?.querySelector('h2, h3')?.textContent.trim()) || 'table ' + (i + 1);
    headers.forEach((th, c) => {
      if (th.classList.contains('col-expand')) return;
      const name = th.textContent.trim();
      const actions = rows.some((r) => r.cells[c] && r.cells[c].querySelector('button, a.btn'));
      if (!KEY.test(name) && !actions) return;
      for (const cell of [th, ...rows.map((r) => r.cells[c])]) {
        const why = clipped(cell);
        if (why) {
          problems.push({ table: label, column: name || '(actions)', why });
          break;
        }
      }
    });
  });
  return problems;
})()`;

test.describe.serial('every screen at 1440×900 and 1024×768', () => {
  let reg: RegisterHandle;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let admin: string;
  let ir = '';
  let ak = '';
  const clips: string[] = [];

  /** Screenshots the current screen at both sizes and records any clipped key column. */
  async function screen(name: string, p: Page = page) {
    const modal = (await p.locator('dialog[open]').count()) > 0;
    for (const size of SCREEN_SIZES) {
      await p.setViewportSize(size);
      await p.waitForTimeout(150);
      if (!modal) await p.evaluate('window.scrollTo(0, 0)');
      // Checked before the screenshot: a full-page capture hides scrollbars while it runs.
      const found = (await p.evaluate(FIND_CLIPPED_KEY_COLUMNS)) as Clip[];
      for (const c of found) clips.push(`${name} at ${size.width}×${size.height}: "${c.column}" in ${c.table} is ${c.why}`);
      await p.screenshot({ path: join(SHOTS, `${name}-${size.width}x${size.height}.png`), fullPage: !modal, animations: 'disabled' });
    }
    await p.setViewportSize(SCREEN_SIZES[0]);
  }

  async function open(hash: string, heading?: string | RegExp) {
    await page.goto(`/console/#${hash}`);
    const h1 = page.getByRole('heading', { level: 1 });
    await expect(heading ? h1.filter({ hasText: heading }) : h1).toBeVisible();
    await expect(page.locator('.spinner, [aria-busy="true"]')).toHaveCount(0);
  }

  test.beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    reg = await startRegister();
    admin = await bearerToken(reg.url, 'admin_ops');
    const bright = await bearerToken(reg.url, 'bright_energy');
    ir = await registerCustomer(reg.url, bright, { mpxn: MPXN, moveIn: '2023-02-01', address: { addressLine1: '12 Mill Street', townCity: 'York', postcode: 'YO1 7HH' }, email: 'sam.screens@example.org' });
    const records = await apiCall(reg.url, 'GET', '/v1/admin/records?state=ACTIVE&limit=1', { token: admin });
    ak = records.body.records[0].ak;
    // A subscription whose endpoint refuses, so the webhook screens have deliveries to show.
    const hook = await apiCall(reg.url, 'POST', '/v1/webhooks', { token: bright, body: { 'callback-url': 'http://127.0.0.1:9/hook', 'alert-email': 'ops@bright.example', 'event-types': ['consent.withdrawal'] } });
    expect(hook.status).toBe(201);
    browser = await chromium.launch({ ...chromiumLaunchOptions, ignoreDefaultArgs: ['--hide-scrollbars'] });
    context = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB', timezoneId: 'Europe/London' });
    page = await context.newPage();
  });

  test.afterAll(async () => {
    await context?.close().catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await reg?.stop();
  });

  test('console as administrator: every route', async () => {
    await page.goto('/console/');
    await expect(page.getByLabel('Account id')).toBeVisible();
    await screen('console-sign-in');
    await page.getByLabel('Account id').fill('admin_ops');
    await page.getByLabel('Secret key').fill(DEMO.accounts.admin_ops);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
    await screen('console-overview');

    const accountScreens: Array<[string, string, string]> = [
      ['data-users', 'Data users', 'bright_energy'],
      ['portal-accounts', 'Portal accounts', ''],
      ['dcc-accounts', 'DCC accounts', ''],
      ['data-providers', 'Data providers', ''],
      ['administrators', 'Administrators', 'admin_ops'],
      ['support-staff', 'Support staff', 'support_desk'],
    ];
    for (const [path, title, detail] of accountScreens) {
      await open(`/${path}`, title);
      await screen(`console-${path}`);
      if (detail) {
        await open(`/${path}/${detail}`);
        await screen(`console-${path}-detail`);
      }
    }
    await open('/identity-records', 'Identity records');
    await screen('console-identity-records');
    await open(`/identity-records/${ir}`);
    await screen('console-identity-record-detail');
    await open('/reidentify', 'Re-identification desk');
    await screen('console-desk');
    await open('/tokens', 'Pending tokens');
    await screen('console-tokens');
    await open('/records', 'Access records');
    await screen('console-records');
    await open(`/records/${ak}`);
    await screen('console-record-detail');
    await open('/discovered', 'Discovered access');
    await screen('console-discovered');
    await open('/webhooks', 'Webhooks');
    await screen('console-webhooks');
    await open('/outbox', 'Outbox');
    await screen('console-outbox');
    await open('/audit', 'Audit log');
    await screen('console-audit');
    await open('/settings', 'Settings');
    await screen('console-settings');
    await page.goto('/console/#/no-such-screen');
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await screen('console-not-found');
  });

  test('console dialogs and the live desk', async () => {
    await open('/data-users', 'Data users');
    await page.getByRole('button', { name: 'New data user' }).first().click();
    await expect(page.getByRole('dialog', { name: 'New data user' })).toBeVisible();
    await screen('console-dialog-new-data-user');
    await page.getByRole('dialog', { name: 'New data user' }).getByRole('button', { name: 'Cancel' }).click();

    // greenswitch's secret is not used again in this spec.
    await open('/data-users/greenswitch');
    await page.getByRole('button', { name: 'Rotate secret' }).click();
    const confirm = page.getByRole('dialog', { name: 'Rotate the secret key?' });
    await expect(confirm).toBeVisible();
    await screen('console-dialog-rotate-confirm');
    await confirm.getByRole('button', { name: 'Issue new secret' }).click();
    const shownOnce = page.getByRole('dialog', { name: 'New secret key' });
    await expect(shownOnce).toBeVisible();
    await screen('console-dialog-secret-shown-once');
    await page.keyboard.press('Escape');
    await expect(shownOnce.getByRole('alertdialog', { name: 'Close without copying?' })).toBeVisible();
    await screen('console-dialog-secret-close-without-copying');
    await shownOnce.getByRole('button', { name: 'Keep it open' }).click();
    await shownOnce.getByLabel('I have copied it').check();
    await shownOnce.getByRole('button', { name: 'Done' }).click();

    await open(`/records/${ak}`);
    await page.getByRole('button', { name: 'Revoke' }).click();
    await expect(page.locator('dialog[open]')).toBeVisible();
    await screen('console-dialog-revoke');
    await page.keyboard.press('Escape');

    // The desk with a live session for the new customer (magic link), and its cancel dialog.
    await open(`/reidentify?mpxn=${MPXN}`, 'Re-identification desk');
    await page.getByLabel('Requesting organisation').fill('Bright');
    await page.getByRole('option', { name: /Bright Energy Ltd/ }).click();
    await page.getByRole('button', { name: 'Start re-identification' }).click();
    await expect(page.getByTestId('desk-status-headline')).toHaveText('Waiting for the customer');
    await screen('console-desk-live');
    await open('/tokens', 'Pending tokens');
    await expect(page.getByRole('row', { name: new RegExp(MPXN) }).first()).toBeVisible();
    await screen('console-tokens-pending');
    await open('/outbox', 'Outbox');
    await expect(page.getByText('sam.screens@example.org').first()).toBeVisible();
    await screen('console-outbox-with-mail');
  });

  test('console as support: what the role sees, and a refused screen', async () => {
    const support = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB', timezoneId: 'Europe/London' });
    const p = await support.newPage();
    try {
      await p.goto('/console/');
      await p.getByLabel('Account id').fill('support_desk');
      await p.getByLabel('Secret key').fill(DEMO.accounts.support_desk);
      await p.getByRole('button', { name: 'Sign in' }).click();
      await expect(p.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
      await screen('support-overview', p);
      await p.goto(`/console/#/identity-records/${ir}`);
      await expect(p.getByRole('heading', { level: 1 })).toBeVisible();
      await screen('support-identity-record-masked', p);
      await p.goto('/console/#/settings');
      await expect(p.getByRole('heading', { level: 1 })).toBeVisible();
      await screen('support-not-allowed', p);
    } finally {
      await support.close();
    }
  });

  test('customer portal and ceremony pages', async () => {
    const customer = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB', timezoneId: 'Europe/London' });
    const p = await customer.newPage();
    const newestLink = async (to: string) => {
      const message = (await apiCall(reg.url, 'GET', '/v1/admin/outbox?limit=1', { token: admin })).body.messages[0];
      expect(message.to).toBe(to);
      return message.links.find((l: string) => l.includes('/id/')) as string;
    };
    try {
      await p.goto('/portal');
      await expect(p.getByRole('heading', { level: 1 })).toHaveText('See who has access to your smart meter data');
      await screen('portal-start', p);
      await p.getByLabel('Meter point number (MPAN or MPRN)').fill(DEMO.mpxn);
      await p.getByRole('button', { name: 'Find my meter point' }).click();
      await expect(p.getByRole('group', { name: "How would you like to confirm it's you?" })).toBeVisible();
      await screen('portal-choose-method', p);
      await p.getByLabel(/Email me a link/).check();
      await p.getByRole('button', { name: 'Continue' }).click();
      await expect(p.getByRole('heading', { name: 'Check your email' })).toBeVisible();
      await screen('portal-check-email', p);

      const link = await newestLink(DEMO.customerEmail);
      const mail = await customer.newPage();
      await mail.goto(link);
      await expect(mail.getByRole('button', { name: "Yes, it's me" })).toBeVisible();
      await screen('id-magic-link-confirm', mail);
      await mail.getByRole('button', { name: "Yes, it's me" }).click();
      await expect(mail.getByRole('button', { name: "Yes, it's me" })).toHaveCount(0);
      await screen('id-magic-link-confirmed', mail);
      await mail.goto(link);
      await screen('id-magic-link-used', mail);
      await mail.close();

      await expect(p.getByRole('heading', { name: 'Who has access to your meter data' })).toBeVisible({ timeout: 20_000 });
      await screen('portal-records', p);
      const card = p.getByRole('article').filter({ has: p.getByRole('heading', { name: 'OctopusFlux Ltd', level: 3 }) });
      await card.getByRole('button', { name: 'Withdraw permission' }).click();
      await expect(p.getByRole('heading', { name: /Withdraw permission from OctopusFlux Ltd/ })).toBeVisible();
      await screen('portal-withdraw-confirm', p);
      await p.getByRole('button', { name: 'Yes, withdraw permission' }).click();
      await expect(p.getByRole('heading', { name: 'Permission withdrawn' })).toBeVisible();
      await screen('portal-withdrawn', p);

      // The passkey set-up's first step (e-mail proof) for the customer created above, in a fresh browser.
      const second = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB', timezoneId: 'Europe/London' });
      const passkey = await second.newPage();
      const cdp = await second.newCDPSession(passkey);
      await cdp.send('WebAuthn.enable');
      await cdp.send('WebAuthn.addVirtualAuthenticator', {
        options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
      });
      await passkey.goto('/portal');
      await passkey.getByLabel('Meter point number (MPAN or MPRN)').fill(MPXN);
      await passkey.getByRole('button', { name: 'Find my meter point' }).click();
      await passkey.getByLabel(/Set up a passkey on this device/).check();
      await passkey.getByRole('button', { name: 'Continue' }).click();
      await passkey.waitForURL(/\/id\/passkey\/register\?session=pks_/);
      await expect(passkey.getByRole('heading', { level: 1, name: 'Check your e-mail' })).toBeVisible();
      await screen('id-passkey-register-step-1', passkey);
      await passkey.goto(await newestLink('sam.screens@example.org'));
      await expect(passkey.getByRole('heading', { level: 1 })).toBeVisible();
      await screen('id-passkey-email-confirm', passkey);
      await second.close();
    } finally {
      await customer.close();
    }
  });

  test('the check itself: finds a key column cut off, or out of view with no scrollbar; accepts one behind a visible scrollbar', async () => {
    const table = (id: string) =>
      `<table id="${id}"><thead><tr><th style="width:900px">Access key</th><th style="width:120px">State</th><th></th></tr></thead>` + `<tbody><tr><td>ak_1</td><td>ACTIVE</td><td><button>Revoke</button></td></tr></tbody></table>`;
    const p = await context.newPage();
    await p.setViewportSize(SCREEN_SIZES[1]);
    await p.setContent(
      `<style>table{border-collapse:collapse;table-layout:fixed;width:1200px}</style>` +
        `<div style="width:600px;overflow:hidden">${table('hidden')}</div>` +
        `<div class="bare" style="width:600px;overflow-x:auto;scrollbar-width:none">${table('nobar')}</div>` +
        `<div style="width:600px;overflow-x:auto">${table('scrolls')}</div>`,
    );
    const found = (await p.evaluate(FIND_CLIPPED_KEY_COLUMNS)) as Clip[];
    await p.close();
    expect(found.map((c) => [c.table, c.column, c.why.split(' ')[0]])).toEqual([
      ['table 1', 'State', 'cut'],
      ['table 1', '(actions)', 'cut'],
      ['table 2', 'State', 'out'],
      ['table 2', '(actions)', 'out'],
    ]);
  });

  test('no screen shows a clipped key column', () => {
    expect(clips, `Clipped key columns:\n${clips.join('\n')}`).toEqual([]);
  });
});
