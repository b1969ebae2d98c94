/**
 * A stand-in for the Electron API, just enough to run the built main process (out/main)
 * under plain Node where the Electron binary is not available. It records what the main
 * process does in globalThis.__darElectronStub.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';

const userData = process.env.DAR_STUB_USERDATA;
if (!userData) throw new Error('DAR_STUB_USERDATA is not set');
mkdirSync(userData, { recursive: true });

const record = { handlers: {}, loaded: [], windows: [], errors: [], keyStore: { encrypted: 0, decrypted: 0 }, injected: [] };
globalThis.__darElectronStub = record;

export const app = {
  getPath: (name) => (name === 'userData' ? userData : userData),
  getAppPath: () => process.env.DAR_STUB_APP_PATH ?? process.cwd(),
  getVersion: () => '0.0.0-stub',
  requestSingleInstanceLock: () => true,
  on: () => {},
  whenReady: () => Promise.resolve(),
  quit: () => {},
  exit: (code) => record.errors.push(`exit ${code}`),
};

export class BrowserWindow {
  static getAllWindows() {
    return record.windows;
  }
  constructor(options) {
    this.options = options;
    this.title = options?.title ?? '';
    this.url = '';
    this.destroyed = false;
    this.events = {};
    // webContents events (will-navigate, did-finish-load…) are kept so a test can fire them.
    this.webContents = {
      events: {},
      windowOpenHandler: null,
      on(name, fn) {
        (this.events[name] ??= []).push(fn);
      },
      setWindowOpenHandler(fn) {
        this.windowOpenHandler = fn;
      },
      getURL: () => this.url,
      executeJavaScript: (code) => {
        record.injected.push({ window: record.windows.indexOf(this), url: this.url, code });
        return Promise.resolve();
      },
    };
    record.windows.push(this);
  }
  once() {}
  on(name, fn) {
    (this.events[name] ??= []).push(fn);
  }
  isMinimized() {
    return false;
  }
  isDestroyed() {
    return this.destroyed;
  }
  destroy() {
    this.destroyed = true;
  }
  setTitle(title) {
    this.title = title;
  }
  loadURL(url) {
    this.url = url;
    record.loaded.push(url);
    return Promise.resolve();
  }
}

export const ipcMain = {
  handle: (channel, fn) => {
    record.handlers[channel] = fn;
  },
};

/**
 * The key store: real AES-256-GCM under a key that stays outside userData (as the operating
 * system's key store keeps it), so what lands on disk is ciphertext a test can check and,
 * knowing the key (see keystore.mjs), decrypt. Calls are counted.
 */
export const STUB_KEY = createHash('sha256')
  .update(process.env.DAR_STUB_KEYSTORE_KEY ?? 'dar-electron-stub-key-store')
  .digest();
export const safeStorage = {
  isEncryptionAvailable: () => process.env.DAR_STUB_NO_KEYSTORE !== '1',
  encryptString: (text) => {
    if (process.env.DAR_STUB_NO_KEYSTORE === '1') throw new Error('Encryption is not available');
    record.keyStore.encrypted++;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', STUB_KEY, iv);
    const body = Buffer.concat([cipher.update(text, 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from('v10'), iv, cipher.getAuthTag(), body]);
  },
  decryptString: (buf) => {
    record.keyStore.decrypted++;
    if (buf.subarray(0, 3).toString() !== 'v10') throw new Error('Not encrypted by this key store');
    const decipher = createDecipheriv('aes-256-gcm', STUB_KEY, buf.subarray(3, 15));
    decipher.setAuthTag(buf.subarray(15, 31));
    return Buffer.concat([decipher.update(buf.subarray(31)), decipher.final()]).toString('utf8');
  },
};

export const session = { defaultSession: { setPermissionRequestHandler: () => {} } };
export const shell = { openExternal: async () => {}, openPath: async () => '' };
export const dialog = {
  showErrorBox: (title, message) => record.errors.push(`${title}: ${message}`),
  showSaveDialog: async () => ({ canceled: true }),
};

export default { app, BrowserWindow, ipcMain, safeStorage, session, shell, dialog };
