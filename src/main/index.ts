/**
 * DAR Console desktop shell. Deliberately thin: it starts the register in-process
 * (the same code as `npm run register`), makes sure a local administrator exists,
 * and shows the console the register serves at /console/ in a locked-down window.
 *
 * It can instead show a deployed register's own /console/ (see ./registers): that window has
 * no preload script, so remote content never reaches the IPC bridge; the main process signs
 * in with the credentials kept in the key store and hands the page only a bearer token.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, safeStorage, session, shell, type IpcMainInvokeEvent } from 'electron';
import { defaultConfig } from '../server/config';
import { createRegister, type RunningRegister } from '../server/start';
import type { DarDesktopConnectRequest, DarDesktopConnectResult, DarDesktopCredentials, DarDesktopRegisters, DarDesktopSaveRequest, DarDesktopSaveResult } from '../preload/api';
import { IPC } from './ipc';
import { DesktopRegisters, normaliseRegisterUrl, signInRemote, type RegisterChoice, type RemoteCredentials, type RemoteSession } from './registers';

const LOCAL_ADMIN = 'local_admin';
/** Port tried first so the console keeps the same origin between runs; any free port otherwise. */
const PREFERRED_PORT = 5001;

let register: RunningRegister | null = null;
let baseUrl = '';
let dataDir = '';
let credentials: DarDesktopCredentials | null = null;
let mainWindow: BrowserWindow | null = null;
let registers: DesktopRegisters | null = null;
/** Why the app is showing the local sandbox although a deployed register was chosen. */
let startNotice: string | null = null;
let renewTimer: ReturnType<typeof setTimeout> | null = null;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * The local administrator's secret is generated here, kept only encrypted with the
 * operating system's key store (safeStorage). When no key store is available the secret
 * is never written to disk: a fresh one is issued at every start instead.
 */
async function ensureLocalAdmin(reg: RunningRegister, file: string): Promise<DarDesktopCredentials> {
  const canEncrypt = safeStorage.isEncryptionAvailable();
  if (canEncrypt && existsSync(file)) {
    try {
      const saved = JSON.parse(safeStorage.decryptString(readFileSync(file))) as DarDesktopCredentials;
      if (saved.accountId === LOCAL_ADMIN && (await reg.svc.accounts.authenticate(saved.accountId, saved.secret))) return saved;
    } catch {
      // Unreadable (other machine, key store reset): issue a new secret below.
    }
  }
  let secret: string;
  if (await reg.svc.accounts.find(LOCAL_ADMIN)) {
    secret = await reg.svc.accounts.rotateSecret('system', LOCAL_ADMIN);
  } else {
    const created = await reg.svc.accounts.create('system', {
      'account-id': LOCAL_ADMIN,
      'display-name': 'Local administrator',
      role: 'admin',
    });
    secret = created.secret;
  }
  const creds = { accountId: LOCAL_ADMIN, secret };
  if (canEncrypt) writeFileSync(file, safeStorage.encryptString(JSON.stringify(creds)), { mode: 0o600 });
  return creds;
}

async function startRegister(): Promise<void> {
  const userData = app.getPath('userData');
  dataDir = join(userData, 'register');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const appPath = app.getAppPath();
  const port = (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : 0;
  register = await createRegister(
    defaultConfig({
      port,
      host: '127.0.0.1',
      dataDir,
      mode: 'sandbox',
      seed: null,
      migrationsFolder: join(appPath, 'drizzle'),
      consoleDir: join(appPath, 'out', 'renderer'),
      logLevel: 'warn',
    }),
    { level: 'warn' },
  );
  baseUrl = await register.listen();
  credentials = await ensureLocalAdmin(register, join(userData, 'console-credentials.bin'));
}

/** Only the console page itself, served by our register, may talk to the shell. */
function fromConsole(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? '';
  return baseUrl !== '' && url.startsWith(`${baseUrl}/console/`);
}

function isWebUrl(url: string): boolean {
  try {
    const { protocol } = new URL(url);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

function registerIpc(): void {
  ipcMain.handle(IPC.getCredentials, (event) => {
    if (!fromConsole(event) || !credentials) throw new Error('Not available');
    return credentials;
  });
  ipcMain.handle(IPC.openInBrowser, async (event, url: unknown) => {
    if (!fromConsole(event) || typeof url !== 'string' || !isWebUrl(url)) throw new Error('Only http(s) links can be opened');
    await shell.openExternal(url);
  });
  ipcMain.handle(IPC.revealDataFolder, async (event) => {
    if (!fromConsole(event)) throw new Error('Not available');
    const problem = await shell.openPath(dataDir);
    if (problem) throw new Error(problem);
  });
  ipcMain.handle(IPC.registers, (event): DarDesktopRegisters => {
    if (!fromConsole(event) || !registers) throw new Error('Not available');
    const regs = registers;
    return {
      current: 'local',
      keyStore: regs.keyStoreAvailable,
      notice: startNotice,
      remotes: regs.remotes().map((url) => ({ url, accountId: regs.credentials(url)?.accountId ?? null })),
    };
  });
  ipcMain.handle(IPC.connectRegister, async (event, request: DarDesktopConnectRequest): Promise<DarDesktopConnectResult> => {
    if (!fromConsole(event) || !registers) throw new Error('Not available');
    try {
      const url = normaliseRegisterUrl(String(request?.url ?? ''));
      const given = typeof request?.accountId === 'string' && typeof request?.secret === 'string' && request.accountId.trim() && request.secret;
      const creds: RemoteCredentials | null = given ? { accountId: String(request.accountId).trim(), secret: String(request.secret) } : registers.credentials(url);
      if (!creds) return { ok: false, message: `Enter the account id and secret for ${url}.` };
      // Only credentials the register accepts are kept.
      await signInRemote(url, creds);
      registers.saveCredentials(url, creds);
      await showRegister({ kind: 'remote', url }, true);
      return { ok: true, message: null };
    } catch (err) {
      return { ok: false, message: (err as Error).message };
    }
  });
  ipcMain.handle(IPC.forgetRegister, (event, url: unknown) => {
    if (!fromConsole(event) || !registers || typeof url !== 'string') throw new Error('Not available');
    registers.forget(url);
  });
  ipcMain.handle(IPC.saveExport, async (event, request: DarDesktopSaveRequest): Promise<DarDesktopSaveResult> => {
    if (!fromConsole(event)) throw new Error('Not available');
    const name = String(request?.defaultName ?? 'export.txt').replace(/[\\/]/g, '_');
    const options = {
      title: 'Save export',
      defaultPath: join(app.getPath('downloads'), name),
      filters: request?.filter ? [request.filter] : [],
    };
    const result = mainWindow ? await dialog.showSaveDialog(mainWindow, options) : await dialog.showSaveDialog(options);
    if (result.canceled || !result.filePath) return { saved: false, path: null };
    await writeFile(result.filePath, String(request.content ?? ''), 'utf8');
    return { saved: true, path: result.filePath };
  });
}

const SECURE_PREFERENCES = { contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true } as const;

function hostOf(url: string): string {
  return new URL(url).host;
}

/** A locked-down window; only the local sandbox's console gets the preload bridge. */
function newWindow(target: RegisterChoice): BrowserWindow {
  const local = target.kind === 'local';
  const win = new BrowserWindow({
    width: 1380,
    height: 900,
    minWidth: 1024,
    minHeight: 640,
    title: `DAR Console — ${local ? 'Local sandbox' : hostOf(target.url)}`,
    show: false,
    backgroundColor: '#f4f6f8',
    webPreferences: local
      ? {
          ...SECURE_PREFERENCES,
          preload: fileURLToPath(new URL('../preload/index.cjs', import.meta.url)),
          additionalArguments: [`--dar-version=${encodeURIComponent(app.getVersion())}`, `--dar-data-folder=${encodeURIComponent(dataDir)}`],
        }
      : { ...SECURE_PREFERENCES },
  });
  // The title bar always names the register in use, whatever the page calls itself.
  win.on('page-title-updated', (event) => event.preventDefault());
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    if (mainWindow === win) mainWindow = null;
  });
  const origin = local ? baseUrl : target.url;
  // Stay on the register's own origin; everything else opens in the user's browser.
  win.webContents.on('will-navigate', (event, url) => {
    const command = desktopCommand(origin, url);
    if (command) {
      event.preventDefault();
      if (command === 'switch') void showRegister({ kind: 'local' }, true);
      else if (!local) void showRegister(target, false);
      return;
    }
    if (!url.startsWith(`${origin}/`)) {
      event.preventDefault();
      if (isWebUrl(url)) void shell.openExternal(url);
    }
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isWebUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  return win;
}

/**
 * The console asks the shell for something by navigating to `/console/?desktop=switch` or
 * `?desktop=reconnect` on its own origin: a plain link, so a remote console needs no bridge.
 * In a browser the same link simply opens the console.
 */
function desktopCommand(origin: string, url: string): 'switch' | 'reconnect' | null {
  try {
    const u = new URL(url);
    if (u.origin !== origin || u.pathname !== '/console/') return null;
    const command = u.searchParams.get('desktop');
    return command === 'switch' || command === 'reconnect' ? command : null;
  } catch {
    return null;
  }
}

/** Gives a deployed register's console a bearer token (never the secret), as a message to the page itself. */
function handOver(win: BrowserWindow, url: string, session: { token: string; expires: number; accountId: string }): void {
  if (win.isDestroyed() || !win.webContents.getURL().startsWith(`${url}/console/`)) return;
  const message = { darDesktopSession: { token: session.token, expires: session.expires, register: url, switchable: true } };
  void win.webContents.executeJavaScript(`window.postMessage(${JSON.stringify(message)}, window.location.origin)`).catch(() => undefined);
}

function replaceWindow(win: BrowserWindow): void {
  const old = mainWindow;
  mainWindow = win;
  if (renewTimer) clearTimeout(renewTimer);
  renewTimer = null;
  if (old && !old.isDestroyed()) old.destroy();
}

/**
 * Shows the chosen register in a fresh window. A deployed register is signed in to first; if
 * that fails the local sandbox is shown with the reason.
 */
async function showRegister(target: RegisterChoice, remember: boolean): Promise<void> {
  if (!registers) return;
  if (target.kind === 'local') {
    if (remember) registers.choose(target);
    const win = newWindow(target);
    replaceWindow(win);
    void win.loadURL(`${baseUrl}/console/`);
    return;
  }
  const creds = registers.credentials(target.url);
  if (!creds) {
    startNotice = `Sign in to ${target.url} again: its credentials are not in this computer's key store.`;
    return showRegister({ kind: 'local' }, false);
  }
  let signedIn: RemoteSession;
  try {
    signedIn = await signInRemote(target.url, creds);
  } catch (err) {
    startNotice = (err as Error).message;
    return showRegister({ kind: 'local' }, false);
  }
  startNotice = null;
  if (remember) registers.choose(target);
  const win = newWindow(target);
  replaceWindow(win);
  win.webContents.on('did-finish-load', () => handOver(win, target.url, signedIn));
  // Renew shortly before the token ends; the page keeps working without a reload.
  const renew = () => {
    renewTimer = setTimeout(
      async () => {
        if (mainWindow !== win || win.isDestroyed()) return;
        try {
          signedIn = await signInRemote(target.url, creds);
          handOver(win, target.url, signedIn);
          renew();
        } catch {
          // The page signs itself out when its token ends; "Reconnect" tries again.
        }
      },
      Math.max(30, signedIn.expires - 300) * 1000,
    );
  };
  renew();
  void win.loadURL(`${target.url}/console/`);
}

if (!app.requestSingleInstanceLock()) {
  // Another window already owns the data folder.
  app.quit();
} else {
  app.on('second-instance', () => {
    if (mainWindow) {
      if (mainWindow.isMinimized()) mainWindow.restore();
      mainWindow.focus();
    }
  });

  app.whenReady().then(async () => {
    session.defaultSession.setPermissionRequestHandler((_wc, permission, callback) => callback(permission === 'clipboard-sanitized-write'));
    registerIpc();
    try {
      await startRegister();
    } catch (err) {
      dialog.showErrorBox('DAR Console could not start', (err as Error).message);
      app.exit(1);
      return;
    }
    registers = new DesktopRegisters(app.getPath('userData'), safeStorage);
    await showRegister(registers.choice(), false);
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) void showRegister({ kind: 'local' }, false);
    });
  });

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });

  let closing = false;
  app.on('before-quit', (event) => {
    if (!register || closing) return;
    event.preventDefault();
    closing = true;
    const running = register;
    register = null;
    running
      .close()
      .catch(() => undefined)
      .finally(() => app.quit());
  });
}
