/**
 * DAR Console desktop shell. Deliberately thin: it starts the register in-process
 * (the same code as `npm run register`), makes sure a local administrator exists,
 * and shows the console the register serves at /console/ in a locked-down window.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain, safeStorage, session, shell, type IpcMainInvokeEvent } from 'electron';
import { defaultConfig } from '../server/config';
import { createRegister, type RunningRegister } from '../server/start';
import type { DarDesktopCredentials, DarDesktopSaveRequest, DarDesktopSaveResult } from '../preload/api';
import { IPC } from './ipc';

const LOCAL_ADMIN = 'local_admin';
/** Port tried first so the console keeps the same origin between runs; any free port otherwise. */
const PREFERRED_PORT = 5001;

let register: RunningRegister | null = null;
let baseUrl = '';
let dataDir = '';
let credentials: DarDesktopCredentials | null = null;
let mainWindow: BrowserWindow | null = null;

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
  if (reg.svc.accounts.find(LOCAL_ADMIN)) {
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

function createWindow(): void {
  const win = new BrowserWindow({
    width: 1380,
    height: 900,
    minWidth: 1024,
    minHeight: 640,
    title: 'DAR Console',
    show: false,
    backgroundColor: '#f4f6f8',
    webPreferences: {
      preload: fileURLToPath(new URL('../preload/index.cjs', import.meta.url)),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      additionalArguments: [`--dar-version=${encodeURIComponent(app.getVersion())}`, `--dar-data-folder=${encodeURIComponent(dataDir)}`],
    },
  });
  mainWindow = win;
  win.once('ready-to-show', () => win.show());
  win.on('closed', () => {
    mainWindow = null;
  });
  // Stay on the register's own origin; everything else opens in the user's browser.
  win.webContents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${baseUrl}/`)) {
      event.preventDefault();
      if (isWebUrl(url)) void shell.openExternal(url);
    }
  });
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (isWebUrl(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  void win.loadURL(`${baseUrl}/console/`);
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
    createWindow();
    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow();
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
