/**
 * The console under its Content-Security-Policy: every screen loads and works in Chromium with
 * the policy the register sends, and the browser reports no violation (no inline script or
 * style element blocked, no connection elsewhere).
 */
import { apiCall, bearerToken, DEMO, expect, startRegister, test, type RegisterHandle } from './support/fixtures';

const SCREENS = [
  'Overview',
  'Data users',
  'Portal accounts',
  'DCC accounts',
  'Data providers',
  'Administrators',
  'Identity records',
  'Re-identification desk',
  'Pending tokens',
  'Access records',
  'Discovered access',
  'Webhooks',
  'Outbox',
  'Audit log',
  'Settings',
];

// A register of its own: the pending token made here must not show up in the shared walkthrough.
let register: RegisterHandle;
test.beforeAll(async () => {
  register = await startRegister();
});
test.afterAll(async () => {
  await register?.stop();
});

test('the console sends a strict CSP and works under it without violations', async ({ browser }) => {
  // A message in the outbox, so its preview frame (srcdoc, inheriting the policy) is shown.
  const start = await apiCall(register.url, 'POST', '/v1/identity-records/reidentify', { token: await bearerToken(register.url, 'octopusflux'), body: { mpxn: DEMO.mpxn, method: 'magic-link' } });
  expect(start.status).toBe(200);

  const res = await fetch(`${register.url}/console/`);
  const csp = res.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("script-src 'self'");
  expect(csp).not.toMatch(/script-src[^;]*unsafe-(inline|eval)/);
  expect(csp).toContain("connect-src 'self'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).toContain("object-src 'none'");

  const context = await browser.newContext({ baseURL: register.url });
  // Recorded from the first moment of every document, frames included.
  // (A script string: it runs in the page, where the DOM exists; this file compiles for Node.)
  await context.addInitScript({
    content: "window.__csp = []; document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sourceFile + ':' + e.lineNumber));",
  });
  const page = await context.newPage();
  const messages: string[] = [];
  page.on('console', (m) => {
    if (/Content Security Policy|Refused to/i.test(m.text())) messages.push(m.text());
  });
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));

  await page.goto('/console/');
  await page.getByLabel('Account id').fill('admin_ops');
  await page.getByLabel('Secret key').fill(DEMO.accounts.admin_ops);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('heading', { level: 1, name: 'Overview' })).toBeVisible();
  for (const label of SCREENS) {
    // (A link's name may end with its count badge, e.g. "Pending tokens 2".)
    await page
      .getByRole('navigation')
      .getByRole('link', { name: new RegExp(`^${label}\\s*\\d*$`) })
      .click();
    await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
    await page.waitForLoadState('networkidle');
  }
  // The outbox preview renders the e-mail's HTML.
  await page.getByRole('navigation').getByRole('link', { name: 'Outbox', exact: true }).click();
  await expect(page.frameLocator('iframe.mail-frame').locator('body')).toBeVisible();

  const recorded = await page.evaluate('window.__csp');
  expect(recorded).toEqual([]);
  expect(messages).toEqual([]);
  expect(errors).toEqual([]);
  await context.close();
});
