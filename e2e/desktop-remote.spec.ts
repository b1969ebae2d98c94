/**
 * The desktop app connected to a deployed register: a second register process on another
 * port stands in for it. The built main process runs under the Electron stand-in
 * (e2e/support/electron-stub), whose key store really encrypts; the test checks what lands on
 * disk, that the remote console gets no bridge, and signs that console in through the token
 * the shell hands over, in Chromium.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error: plain ES module without type declarations (test support only)
import { decryptStub } from './support/electron-stub/keystore.mjs';
import { startDesktop, type DesktopApp } from './support/desktop';
import { DEMO, expect, SCREEN_SIZES, startRegister, test, type RegisterHandle } from './support/fixtures';

const CREDENTIALS_FILE = 'register-credentials.bin';
const SETTINGS_FILE = 'desktop-settings.json';

/** Every file under dir (the local sandbox's database included), to look for a leaked secret. */
function allFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? allFiles(p) : [p];
  });
}

test.describe.serial('desktop app: a deployed register', () => {
  let deployed: RegisterHandle;
  let userData: string;
  let desktop: DesktopApp | null = null;
  let localConsole = '';
  const secret = DEMO.accounts.admin_ops;

  test.beforeAll(async () => {
    deployed = await startRegister();
    userData = mkdtempSync(join(tmpdir(), 'dar-desktop-remote-'));
  });

  test.afterAll(async () => {
    await desktop?.stop();
    await deployed?.stop();
    rmSync(userData, { recursive: true, force: true });
  });

  test('starts on the local sandbox, connects to the second register, keeps the credentials only encrypted', async () => {
    desktop = await startDesktop(userData);
    let s = await desktop.waitFor((st) => st.loaded.length > 0 || st.errors.length > 0);
    expect(s.errors).toEqual([]);
    localConsole = s.loaded[0];
    expect(localConsole).toMatch(/^http:\/\/localhost:\d+\/console\/$/);
    expect(new URL(localConsole).port).not.toBe(String(deployed.port));
    expect(s.windows[0].title).toBe('DAR Console — Local sandbox');
    expect(s.windows[0].webPreferences?.preload).toMatch(/index\.cjs$/);

    const before = await desktop.invoke<{ current: string; remotes: unknown[]; keyStore: boolean }>('dar:registers', localConsole);
    expect(before).toMatchObject({ current: 'local', remotes: [], keyStore: true });

    // Only the local console may use the bridge: not the deployed register's page, not another site.
    await expect(desktop.invoke('dar:connect-register', `${deployed.url}/console/`, { url: deployed.url, accountId: 'admin_ops', secret })).rejects.toThrow(/Not available/);
    await expect(desktop.invoke('dar:registers', 'https://elsewhere.example/')).rejects.toThrow(/Not available/);
    await expect(desktop.invoke('dar:get-credentials', `${deployed.url}/console/`)).rejects.toThrow(/Not available/);

    // Wrong secret, plain http to another host, and a customer account are refused; nothing is stored.
    const wrong = await desktop.invoke<{ ok: boolean; message: string }>('dar:connect-register', localConsole, { url: deployed.url, accountId: 'admin_ops', secret: 'not-the-secret' });
    expect(wrong).toEqual({ ok: false, message: expect.stringMatching(/refused this account id or secret/) });
    const insecure = await desktop.invoke<{ ok: boolean; message: string }>('dar:connect-register', localConsole, { url: 'http://dar.example.org', accountId: 'admin_ops', secret });
    expect(insecure.message).toMatch(/https:\/\//);
    const dataUser = await desktop.invoke<{ ok: boolean; message: string }>('dar:connect-register', localConsole, { url: deployed.url, accountId: 'bright_energy', secret: DEMO.accounts.bright_energy });
    expect(dataUser).toEqual({ ok: false, message: expect.stringMatching(/Only administrator and support accounts/) });
    expect(readdirSync(userData)).not.toContain(CREDENTIALS_FILE);

    const connected = await desktop.invoke<{ ok: boolean; message: string | null }>('dar:connect-register', localConsole, { url: `${deployed.url}/console/`, accountId: 'admin_ops', secret });
    expect(connected).toEqual({ ok: true, message: null });
    s = await desktop.state();
    const remote = s.windows[1];
    expect(remote.url).toBe(`${deployed.url}/console/`);
    expect(remote.title).toBe(`DAR Console — localhost:${deployed.port}`);
    // Remote content: locked down and no preload, so no bridge and no Node.
    expect(remote.webPreferences).toEqual({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(s.windows[0].destroyed).toBe(true);

    // On disk: the register's address in the settings, the credentials only as key-store ciphertext.
    const settings = readFileSync(join(userData, SETTINGS_FILE), 'utf8');
    expect(JSON.parse(settings)).toEqual({ register: { kind: 'remote', url: deployed.url }, remotes: [deployed.url] });
    const stored = readFileSync(join(userData, CREDENTIALS_FILE));
    expect(s.keyStore.encrypted).toBeGreaterThan(0);
    expect(JSON.parse(decryptStub(stored))).toEqual({ [deployed.url]: { accountId: 'admin_ops', secret } });
    for (const file of allFiles(userData)) {
      const bytes = readFileSync(file);
      expect(bytes.includes(secret), `${file} holds the secret in plain text`).toBe(false);
      expect(bytes.includes(Buffer.from(secret).toString('base64')), `${file} holds the secret in base64`).toBe(false);
    }
    expect(stored.includes('admin_ops')).toBe(false);
  });

  test('the deployed register’s own console is signed in by the token the shell hands over', async ({ browser }, testInfo) => {
    const app = desktop!;
    await app.emit(1, 'did-finish-load');
    const s = await app.state();
    const handoff = s.injected.find((i) => i.window === 1);
    expect(handoff?.url).toBe(`${deployed.url}/console/`);
    // The page learns a bearer token, never the secret.
    expect(handoff?.code).not.toContain(secret);
    expect(handoff?.code).toContain('darDesktopSession');

    for (const size of SCREEN_SIZES) {
      const context = await browser.newContext({ viewport: size, locale: 'en-GB' });
      const page = await context.newPage();
      await page.goto(`${deployed.url}/console/`);
      await expect(
        page
          .getByRole('heading', { name: 'Sign in' })
          .or(page.getByRole('button', { name: 'Sign in' }))
          .first(),
      ).toBeVisible();
      // What the shell's executeJavaScript does, run in the page's own world.
      await page.evaluate(handoff!.code);
      const topbar = page.locator('.topbar');
      await expect(topbar.getByText(`localhost:${deployed.port}`, { exact: true })).toBeVisible();
      await expect(topbar.getByText('admin_ops · administrator')).toBeVisible();
      await expect(topbar.getByRole('link', { name: 'Switch to local sandbox' })).toBeVisible();
      expect(await page.evaluate('typeof window.darDesktop')).toBe('undefined');
      await expect(page.getByRole('heading', { level: 1 })).toBeVisible();
      await page.screenshot({ path: testInfo.outputPath(`desktop-remote-${size.width}x${size.height}.png`) });

      // A message from another window (here: an opener) must not sign the console in.
      const other = await context.newPage();
      await other.goto(`${deployed.url}/portal`);
      const fixated = await other.evaluate(`(async () => {
        const w = window.open(${JSON.stringify(`${deployed.url}/console/`)}, '_blank');
        await new Promise((r) => setTimeout(r, 1500));
        w?.postMessage({ darDesktopSession: { token: 'attacker-token', expires: 7200 } }, '*');
        await new Promise((r) => setTimeout(r, 500));
        return w ? w.sessionStorage.getItem('dar.console.session') : 'no window';
      })()`);
      expect(fixated).toBeNull();
      await context.close();
    }
  });

  test('one click switches either way; a restart remembers the choice', async ({ browser }, testInfo) => {
    let app = desktop!;
    const back = await app.emit(1, 'will-navigate', `${deployed.url}/console/?desktop=switch`);
    expect(back.prevented).toBe(true);
    let s = await app.waitFor((st) => st.windows.length === 3);
    expect(s.windows[1].destroyed).toBe(true);
    expect(s.windows[2]).toMatchObject({ url: localConsole, title: 'DAR Console — Local sandbox' });
    expect(JSON.parse(readFileSync(join(userData, SETTINGS_FILE), 'utf8')).register).toEqual({ kind: 'local' });

    // Leaving the deployed register's origin is refused in its window.
    expect((await app.emit(1, 'will-navigate', 'https://elsewhere.example/')).prevented).toBe(true);

    // The local console offers the register used before, with stored credentials: one click.
    const info = await app.invoke<{ remotes: Array<{ url: string; accountId: string | null }> }>('dar:registers', localConsole);
    expect(info.remotes).toEqual([{ url: deployed.url, accountId: 'admin_ops' }]);
    // The local console in Chromium, its bridge calls going to the shell's real handlers as that page.
    const context = await browser.newContext({ viewport: SCREEN_SIZES[1], locale: 'en-GB' });
    await context.exposeBinding('__darInvoke', ({ page }, channel: string, ...args: unknown[]) => app.invoke(channel, page.url(), ...args));
    // What the preload script exposes, each call going to the shell's handler as this page.
    await context.addInitScript(`
      const invoke = window.__darInvoke;
      window.darDesktop = Object.freeze({
        version: '0.0.0-stub',
        dataFolder: '',
        openInBrowser: async () => undefined,
        revealDataFolder: async () => undefined,
        saveExport: async () => ({ saved: false, path: null }),
        getCredentials: () => invoke('dar:get-credentials'),
        registers: () => invoke('dar:registers'),
        connectRegister: (r) => invoke('dar:connect-register', r),
        forgetRegister: (u) => invoke('dar:forget-register', u),
      });
    `);
    const page = await context.newPage();
    await page.goto(localConsole);
    const topbar = page.locator('.topbar');
    await expect(topbar.getByText('Local sandbox', { exact: true })).toBeVisible();
    await expect(topbar.getByText('local_admin · administrator')).toBeVisible();
    await topbar.getByRole('button', { name: 'Registers…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Connect to a register' });
    await expect(dialog.getByText(deployed.url)).toBeVisible();
    await expect(dialog.getByText('as admin_ops')).toBeVisible();
    await dialog.getByLabel('Register address').fill('http://dar.example.org');
    await dialog.getByLabel('Account id').fill('admin_ops');
    await dialog.getByLabel('Secret key').fill('x');
    await dialog.getByRole('button', { name: 'Connect', exact: true }).last().click();
    await expect(dialog.getByText(/must be reached over https/)).toBeVisible();
    await page.screenshot({ path: testInfo.outputPath('desktop-connect-dialog-1024x768.png') });
    await dialog.getByRole('button', { name: 'Stay on the local sandbox' }).click();
    await topbar.getByRole('button', { name: `Switch to localhost:${deployed.port}` }).click();
    s = await app.waitFor((st) => st.windows.length === 4);
    expect(s.windows[3].url).toBe(`${deployed.url}/console/`);
    expect(s.windows[2].destroyed).toBe(true);
    await context.close();

    // Restart: the app opens the deployed register again, with the credentials read back from the key store.
    await app.stop();
    app = desktop = await startDesktop(userData);
    s = await app.waitFor((st) => st.loaded.length > 0 || st.errors.length > 0);
    expect(s.errors).toEqual([]);
    expect(s.loaded).toEqual([`${deployed.url}/console/`]);
    expect(s.windows[0].webPreferences).not.toHaveProperty('preload');
    expect(s.keyStore.decrypted).toBeGreaterThan(0);
  });

  test('when the deployed register cannot be reached at start, the local sandbox opens and says why', async () => {
    await desktop!.stop();
    await deployed.stop();
    desktop = await startDesktop(userData);
    const s = await desktop.waitFor((st) => st.loaded.length > 0 || st.errors.length > 0);
    expect(s.loaded[0]).toMatch(/^http:\/\/localhost:\d+\/console\/$/);
    const info = await desktop.invoke<{ notice: string | null }>('dar:registers', s.loaded[0]);
    expect(info.notice).toMatch(/cannot be reached/);
  });
});
