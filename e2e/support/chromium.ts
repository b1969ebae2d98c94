/**
 * Chromium for end-to-end tests: the Debian package at /usr/bin/chromium (never a
 * downloaded browser). `apt-get install -y chromium` if it is missing.
 */
import { chromium, type BrowserContext, type LaunchOptions } from '@playwright/test';

export const CHROMIUM_PATH = process.env.DAR_CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-dev-shm-usage'];

/** Options for `chromium.launch()` and for Playwright's `use.launchOptions`. */
export const chromiumLaunchOptions: LaunchOptions = {
  executablePath: CHROMIUM_PATH,
  args: CHROMIUM_ARGS,
};

/**
 * A browser with a persistent profile in `dir` (e.g. to keep a passkey authenticator or
 * cookies across pages). Never pass `--user-data-dir` yourself: Playwright manages it.
 */
export function launchPersistent(dir: string, options: Parameters<typeof chromium.launchPersistentContext>[1] = {}): Promise<BrowserContext> {
  return chromium.launchPersistentContext(dir, { ...chromiumLaunchOptions, ...options, args: [...CHROMIUM_ARGS, ...(options.args ?? [])] });
}
