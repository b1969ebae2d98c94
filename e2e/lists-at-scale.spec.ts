/**
 * Lists at scale (docs/api.md "Admin lists"), on a register filled with 100,000 access records
 * by the benchmark's bulk loader (bench/load.ts):
 * - sorting by a column header, server-side, matching the API's order;
 * - substring search (FTS5 trigram) answering within the latency target, measured;
 * - the Data User picker by name, and its name in the rows;
 * - reaching row 2,000 with page size 200 and "Go to row", without paging through;
 * - the CSV export of the current filter, streamed, with its progress;
 * - at 1440×900 and 1024×768 the key columns (state, expiry, actions) are inside the visible
 *   table or reachable by a visible horizontal scrollbar, on every list screen.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BrowserContext, Page } from '@playwright/test';
import { bulkLoad } from '../bench/load';
import { apiCall, bearerToken, expect, saveScreen, SCREEN_SIZES, startRegister, test, type RegisterHandle } from './support/fixtures';

const RECORDS = 100_000;
/**
 * The target for a search at 100 k records is 100 ms; it is measured in-process by
 * bench/search-latency.ts. Here, through HTTP on a shared CI machine while the browser runs,
 * the bound is a guard against a plan that reads every match (which took > 1 s).
 */
const SEARCH_GUARD_MS = 300;

test.describe.serial('lists at 100k records', () => {
  let dataDir: string;
  let reg: RegisterHandle;
  let admin: { accountId: string; secret: string };
  let sample: { ak: string; mpxn: string };
  let context: BrowserContext;
  let page: Page;
  let token: string;

  async function nav(label: string) {
    await page
      .getByRole('navigation')
      .getByRole('link', { name: new RegExp(`^${label}( \\d+)?$`) })
      .click();
    await expect(page.getByRole('heading', { level: 1, name: label })).toBeVisible();
  }

  function hashParams(): URLSearchParams {
    const hash = new URL(page.url()).hash;
    return new URLSearchParams(hash.slice(hash.indexOf('?') + 1));
  }

  const akColumn = () => page.locator('table tbody tr td:first-child');

  test.beforeAll(async ({ browser }, testInfo) => {
    testInfo.setTimeout(20 * 60_000);
    dataDir = mkdtempSync(join(tmpdir(), 'dar-e2e-lists-'));
    const started = Date.now();
    const reuse = process.env.DAR_E2E_LISTS_DATA;
    if (reuse && process.env.DAR_E2E_LISTS_ADMIN_SECRET) {
      // Local iteration: a copy of a folder the bulk loader filled before (never in CI).
      cpSync(reuse, dataDir, { recursive: true });
      admin = { accountId: 'bench_admin', secret: process.env.DAR_E2E_LISTS_ADMIN_SECRET };
    } else {
      const fixture = await bulkLoad({ dataDir, records: RECORDS, dataUsers: 40, hotMeterPoints: 5, hotSize: 300 });
      admin = fixture.admin;
      console.info(`lists fixture: ${JSON.stringify(fixture.counts)}`);
    }
    const loadMs = Date.now() - started;
    const startAt = Date.now();
    reg = await startRegister({ dataDir, seed: false, timeoutMs: 180_000 });
    console.info(`lists fixture ready in ${(loadMs / 1000).toFixed(1)} s; register answered after ${((Date.now() - startAt) / 1000).toFixed(1)} s`);
    await testInfo.attach('fixture-timing', { body: JSON.stringify({ loadMs }), contentType: 'application/json' });
    token = await bearerToken(reg.url, admin.accountId, admin.secret);
    sample = (await apiCall(reg.url, 'GET', '/v1/admin/records?limit=1&offset=5000', { token })).body.records[0];
    context = await browser.newContext({ baseURL: reg.url, viewport: SCREEN_SIZES[0], locale: 'en-GB', acceptDownloads: true });
    page = await context.newPage();
    await page.goto('/console/');
    await page.getByLabel('Account id').fill(admin.accountId);
    await page.getByLabel('Secret key').fill(admin.secret);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible({ timeout: 30_000 });
  });

  test.afterAll(async () => {
    await context?.close();
    await reg?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  test('search answers within the target at 100k records (API, measured)', async ({}, testInfo) => {
    const terms = ['ump siz', 'tariff', 'Bench Energy 17', sample.mpxn.slice(-8), sample.ak.slice(6, 16), 'zzzz-nothing', 'ab'];
    const timings: Record<string, { ms: number; total: number }> = {};
    for (const q of terms) {
      let best = Infinity;
      let total = 0;
      // Best of three: the machine is shared; the first call also warms the page cache.
      for (let i = 0; i < 3; i++) {
        const t0 = performance.now();
        const res = await apiCall(reg.url, 'GET', `/v1/admin/records?q=${encodeURIComponent(q)}&limit=50`, { token });
        best = Math.min(best, performance.now() - t0);
        expect(res.status).toBe(200);
        total = res.body.total;
      }
      timings[q] = { ms: Math.round(best), total };
    }
    console.info(`search latency at ${RECORDS} records (best of 3, HTTP round trip): ${JSON.stringify(timings)}`);
    await testInfo.attach('search-latency', { body: JSON.stringify(timings, null, 2), contentType: 'application/json' });
    expect(timings['ump siz'].total).toBeGreaterThan(1000);
    expect(timings[sample.ak.slice(6, 16)].total).toBe(1);
    expect(timings[sample.mpxn.slice(-8)].total).toBeGreaterThanOrEqual(1);
    expect(timings['zzzz-nothing'].total).toBe(0);
    for (const [q, t] of Object.entries(timings)) expect(t.ms, `q=${q}`).toBeLessThanOrEqual(SEARCH_GUARD_MS);
  });

  test('sorted by expiry from the column header, in the API order; the sort is in the URL', async ({}, testInfo) => {
    await nav('Access records');
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 1–50 of \d{3},\d{3}$/);
    await page.getByRole('button', { name: /^Expiry/ }).click();
    await expect(page.getByRole('columnheader', { name: /Expiry/ })).toHaveAttribute('aria-sort', 'ascending');
    await page.getByRole('button', { name: /^Expiry/ }).click();
    await expect(page.getByRole('columnheader', { name: /Expiry/ })).toHaveAttribute('aria-sort', 'descending');
    expect(hashParams().get('sort')).toBe('expiry');
    expect(hashParams().get('order')).toBe('desc');
    const api = await apiCall(reg.url, 'GET', '/v1/admin/records?sort=expiry&order=desc&limit=50', { token });
    await expect(akColumn()).toHaveText(api.body.records.map((r: { ak: string }) => r.ak));
    const expiries = api.body.records.map((r: { expiry: string }) => r.expiry);
    expect([...expiries].sort().reverse()).toEqual(expiries);
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      await saveScreen(page, testInfo, `lists-records-sorted-${size.width}x${size.height}`);
    }
    await page.setViewportSize(SCREEN_SIZES[0]);
  });

  test('reaches row 2,000 with 200 rows a page and "Go to row", as the API has it', async ({}, testInfo) => {
    await page.getByLabel('Rows per page').selectOption('200');
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 1–200 of /);
    await page.getByLabel('Go to row').fill('2000');
    await page.getByRole('button', { name: 'Go', exact: true }).click();
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 2,000–2,199 of /);
    expect(hashParams().get('row')).toBe('2000');
    expect(hashParams().get('size')).toBe('200');
    const api = await apiCall(reg.url, 'GET', '/v1/admin/records?sort=expiry&order=desc&limit=200&offset=1999', { token });
    await expect(akColumn()).toHaveText(api.body.records.map((r: { ak: string }) => r.ak));
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 2,200–2,399 of /);
    // The view survives a reload (state in the URL).
    await page.reload();
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 2,200–2,399 of /, { timeout: 30_000 });
    await saveScreen(page, testInfo, 'lists-records-row-2200-1440x900');
    await page.getByLabel('Rows per page').selectOption('50');
  });

  test('searched: a fragment of a purpose, then a Data User picked by name; names shown instead of DUIDs', async ({}, testInfo) => {
    const searched = await apiCall(reg.url, 'GET', `/v1/admin/records?q=${encodeURIComponent('ump sizing')}&sort=expiry&order=desc&limit=50`, { token });
    await page.getByLabel('Search').fill('ump sizing');
    await expect(page.getByText(`${searched.body.total.toLocaleString('en-GB')} found`)).toBeVisible();
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 1–50 of /);
    await expect(akColumn()).toHaveText(searched.body.records.map((r: { ak: string }) => r.ak));
    const purposes = await page.locator('table tbody tr').evaluateAll((rows) => rows.map((r) => r.textContent ?? ''));
    expect(purposes.length).toBe(50);
    expect(purposes.every((t) => /Heat-pump sizing/.test(t))).toBe(true);
    expect(hashParams().get('q')).toBe('ump sizing');
    expect(hashParams().get('row')).toBeNull();

    const picker = page.getByRole('combobox', { name: 'Data User' });
    await picker.fill('Bench Energy 7 ');
    await page.getByRole('option', { name: /Bench Energy 7 Ltd/ }).click();
    await expect(page.locator('.picked-name')).toHaveText('Bench Energy 7 Ltd');
    const duid = hashParams().get('duid');
    expect(duid).toMatch(/^duid_[0-9a-f]{24}$/);
    const api = await apiCall(reg.url, 'GET', `/v1/admin/records?q=${encodeURIComponent('ump sizing')}&duid=${duid}&sort=expiry&order=desc&limit=50`, { token });
    expect(api.body.total).toBeGreaterThan(0);
    await expect(page.getByText(`${api.body.total.toLocaleString('en-GB')} found`)).toBeVisible();
    await expect(akColumn()).toHaveText(api.body.records.map((r: { ak: string }) => r.ak));
    const names = await page.locator('table tbody tr').evaluateAll((rows) => rows.map((r) => r.textContent ?? ''));
    expect(names.every((t) => t.includes('Bench Energy 7 Ltd') && !t.includes('duid_'))).toBe(true);
    // Truncated text carries the whole of it in a tooltip.
    const title = await page.locator('table tbody tr').first().locator('.cell-trunc[title]').first().getAttribute('title');
    expect(title && title.length).toBeGreaterThan(0);
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      await saveScreen(page, testInfo, `lists-records-searched-${size.width}x${size.height}`);
    }
    await page.setViewportSize(SCREEN_SIZES[0]);
  });

  test('exports every row of the current filter as CSV, streamed, with progress; then the whole 100k list', async ({}, testInfo) => {
    // The filtered view from the test before: one Data User's records matching a purpose fragment.
    const params = hashParams();
    const filtered = await apiCall(reg.url, 'GET', `/v1/admin/records?q=${encodeURIComponent(params.get('q')!)}&duid=${params.get('duid')}&sort=expiry&order=desc&limit=500`, { token });
    await page.getByRole('button', { name: 'Export CSV' }).click();
    let dialog = page.getByRole('dialog', { name: 'Export access records as CSV' });
    let [download] = await Promise.all([page.waitForEvent('download'), dialog.getByRole('button', { name: 'Export' }).click()]);
    await expect(dialog.getByTestId('export-status')).toHaveText(new RegExp(`^${filtered.body.total.toLocaleString('en-GB')} access records exported`));
    let file = testInfo.outputPath(download.suggestedFilename());
    await download.saveAs(file);
    let lines = readFileSync(file, 'utf8').split('\r\n');
    expect(lines[0]).toMatch(/^"ak","mpxn","state"/);
    expect(lines.slice(1, -1)).toHaveLength(filtered.body.total);
    expect(lines.slice(1, 1 + Math.min(500, filtered.body.total)).map((l) => l.slice(1, 28))).toEqual(filtered.body.records.map((r: { ak: string }) => r.ak));
    await saveScreen(page, testInfo, 'lists-records-exported-filtered');
    await dialog.getByRole('button', { name: 'Done' }).click();

    // Everything (no filter), newest first: the dialog shows rows received against the total.
    await page.goto('/console/#/records');
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 1–50 of /);
    const total = (await apiCall(reg.url, 'GET', '/v1/admin/records?limit=1', { token })).body.total as number;
    expect(total).toBeGreaterThanOrEqual(RECORDS);
    await page.getByRole('button', { name: 'Export CSV' }).click();
    dialog = page.getByRole('dialog', { name: 'Export access records as CSV' });
    const t0 = Date.now();
    [download] = await Promise.all([page.waitForEvent('download', { timeout: 120_000 }), dialog.getByRole('button', { name: 'Export' }).click()]);
    const exportMs = Date.now() - t0;
    await expect(dialog.getByRole('progressbar', { name: 'Export progress' })).toHaveAttribute('aria-valuemax', String(total));
    await expect(dialog.getByTestId('export-status')).toHaveText(new RegExp(`^${total.toLocaleString('en-GB')} access records exported \\([\\d.]+ MB\\)`));
    file = testInfo.outputPath(download.suggestedFilename());
    await download.saveAs(file);
    lines = readFileSync(file, 'utf8').split('\r\n');
    expect(lines.slice(1, -1)).toHaveLength(total);
    console.info(`export of ${total} records: ${exportMs} ms in the console`);
    await saveScreen(page, testInfo, 'lists-records-exported-all');
    await dialog.getByRole('button', { name: 'Done' }).click();
  });

  test('audit log: event-type prefix, actor fragment and date range, as the API has them', async ({}, testInfo) => {
    await nav('Audit log');
    await page.getByLabel('Event type starts with').fill('access-record.rev');
    await page.getByLabel('Actor contains').fill('du_1');
    await expect(page.getByTestId('page-range')).toHaveText(/^Rows 1–\d+ of /);
    const api = await apiCall(reg.url, 'GET', '/v1/admin/audit?event-type-prefix=access-record.rev&actor=du_1&limit=50', { token });
    expect(api.body.total).toBeGreaterThan(0);
    await expect(page.getByText(`${api.body.total.toLocaleString('en-GB')} events`)).toBeVisible();
    const rows = await page.locator('table tbody tr').evaluateAll((trs) => trs.map((r) => r.textContent ?? ''));
    expect(rows.every((t) => t.includes('access-record.revoked') && /bench_du_1\d*/.test(t))).toBe(true);
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      await saveScreen(page, testInfo, `lists-audit-filtered-${size.width}x${size.height}`);
    }
    await page.setViewportSize(SCREEN_SIZES[0]);
  });

  /**
   * Whether each key column header is inside the table's visible area, or the table scrolls
   * sideways with a scrollbar that is drawn on the page (not an overlay).
   */
  async function keyColumns(names: RegExp): Promise<{ header: string; inView: boolean; scrollable: boolean; scrollbarVisible: boolean }[]> {
    // Runs in the page (a string, as the e2e project has no DOM typings).
    return page.evaluate(`(() => {
      const re = new RegExp(${JSON.stringify(names.source)}, 'i');
      const out = [];
      for (const wrap of document.querySelectorAll('.table-wrap')) {
        const box = wrap.getBoundingClientRect();
        const style = getComputedStyle(wrap);
        const scrollable = wrap.scrollWidth > wrap.clientWidth;
        // A classic (always drawn) scrollbar takes layout height: offsetHeight - clientHeight - borders.
        const scrollbarVisible = scrollable && wrap.offsetHeight - wrap.clientHeight - parseFloat(style.borderTopWidth) - parseFloat(style.borderBottomWidth) > 0;
        for (const th of wrap.querySelectorAll('thead th')) {
          const text = (th.textContent || '').trim();
          if (!re.test(text)) continue;
          const r = th.getBoundingClientRect();
          out.push({ header: text, inView: r.left >= box.left - 1 && r.right <= box.right + 1 && r.right <= window.innerWidth + 1, scrollable, scrollbarVisible });
        }
      }
      return out;
    })()`);
  }

  test('at 1440×900 and 1024×768 every list keeps its key columns in view or behind a visible scrollbar', async ({}, testInfo) => {
    // [menu entry, key column headers, how many of them must be on the screen]
    const screens: [string, RegExp, number][] = [
      ['Access records', /^(State|Expiry)/, 2],
      ['Discovered access', /^(State|Last seen)/, 2],
      ['Pending tokens', /^(Status|State|Expires|Usable until|Actions?)/, 1],
      ['Outbox', /^(Status|State|Actions?)$/, 0],
      ['Audit log', /^(When|Event)/, 2],
    ];
    const report: Record<string, unknown> = {};
    for (const size of SCREEN_SIZES) {
      await page.setViewportSize(size);
      for (const [label, names, expected] of screens) {
        await nav(label);
        // Tokens show pending ones by default; the fixture's are confirmed, so show all.
        if (label === 'Pending tokens') await page.getByRole('link', { name: 'Show all' }).click();
        if (expected > 0) await expect(page.locator('.table-wrap thead').first()).toBeVisible({ timeout: 30_000 });
        const found = await keyColumns(names);
        expect(found.length, `${label}: key columns found`).toBeGreaterThanOrEqual(expected);
        report[`${label} ${size.width}x${size.height}`] = found;
        await saveScreen(page, testInfo, `lists-${label.toLowerCase().replace(/\s+/g, '-')}-${size.width}x${size.height}`, { fullPage: false });
        for (const k of found) expect(k.inView || (k.scrollable && k.scrollbarVisible), `${label} at ${size.width}×${size.height}: ${k.header} ${JSON.stringify(k)}`).toBe(true);
      }
    }
    await testInfo.attach('key-columns', { body: JSON.stringify(report, null, 2), contentType: 'application/json' });
    await page.setViewportSize(SCREEN_SIZES[0]);
  });
});
