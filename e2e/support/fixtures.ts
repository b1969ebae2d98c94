/**
 * Playwright fixtures shared by every e2e spec.
 *
 *   import { test, expect } from './support/fixtures';
 *   test('…', async ({ page, register, adminBearer }) => {
 *     await page.goto('/console/');            // baseURL = register.url (http://localhost:<port>)
 *   });
 *
 * `register` is one headless register per worker (workers = 1, so one per run) with the demo
 * data loaded; specs share it, so create uniquely named things. For a private register call
 * `startRegister()` from './register' in a `beforeAll`.
 */
import { test as base, expect, type Page, type TestInfo } from '@playwright/test';
import { adminToken, startRegister, type RegisterHandle } from './register';

export { expect };
export * from './register';
export * from './chromium';

/** A worker-scoped headless register with the demo data; reuse it to give a spec its own. */
export async function demoRegister({}, use: (r: RegisterHandle) => Promise<void>): Promise<void> {
  const reg = await startRegister();
  try {
    await use(reg);
  } finally {
    await reg.stop();
  }
}

export const test = base.extend<object, { register: RegisterHandle; adminBearer: string }>({
  register: [demoRegister, { scope: 'worker', timeout: 90_000 }],
  adminBearer: [async ({ register }, use) => use(await adminToken(register.url)), { scope: 'worker' }],
  baseURL: async ({ register }, use) => use(register.url),
});

/** The window sizes every console and customer screen is checked at (1440×900 and 1024×768). */
export const SCREEN_SIZES = [
  { width: 1440, height: 900 },
  { width: 1024, height: 768 },
] as const;

/**
 * Saves a screenshot as `<outputDir>/screens/<name>.png` and attaches it to the report, so
 * every screen can be looked at after the run. The whole page from the top, unless a modal
 * dialog is open (then what the user sees).
 */
export async function saveScreen(page: Page, testInfo: TestInfo, name: string, options: { fullPage?: boolean } = {}): Promise<string> {
  const path = testInfo.outputPath('screens', `${name}.png`);
  const modal = (await page.locator('dialog[open]').count()) > 0;
  const fullPage = options.fullPage ?? !modal;
  if (fullPage) await page.evaluate('window.scrollTo(0, 0)');
  await page.screenshot({ path, fullPage, animations: 'disabled' });
  await testInfo.attach(name, { path, contentType: 'image/png' });
  return path;
}
