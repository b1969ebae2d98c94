/**
 * A stand-in for the Electron API, just enough to run the built main process (out/main)
 * under plain Node where the Electron binary is not available. It records what the main
 * process does in globalThis.__darElectronStub.
 */
import { mkdirSync } from 'node:fs';

const userData = process.env.DAR_STUB_USERDATA;
if (!userData) throw new Error('DAR_STUB_USERDATA is not set');
mkdirSync(userData, { recursive: true });

const record = { handlers: {}, loaded: [], windows: [], errors: [] };
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
    this.webContents = { on: () => {}, setWindowOpenHandler: () => {} };
    record.windows.push(this);
  }
  once() {}
  on() {}
  isMinimized() {
    return false;
  }
  loadURL(url) {
    record.loaded.push(url);
    return Promise.resolve();
  }
}

export const ipcMain = {
  handle: (channel, fn) => {
    record.handlers[channel] = fn;
  },
};

/** Reversible "encryption", so a second start can read what the first one stored. */
export const safeStorage = {
  isEncryptionAvailable: () => process.env.DAR_STUB_NO_KEYSTORE !== '1',
  encryptString: (text) => Buffer.from(`STUB:${Buffer.from(text).toString('base64')}`),
  decryptString: (buf) => Buffer.from(buf.toString().slice(5), 'base64').toString(),
};

export const session = { defaultSession: { setPermissionRequestHandler: () => {} } };
export const shell = { openExternal: async () => {}, openPath: async () => '' };
export const dialog = {
  showErrorBox: (title, message) => record.errors.push(`${title}: ${message}`),
  showSaveDialog: async () => ({ canceled: true }),
};

export default { app, BrowserWindow, ipcMain, safeStorage, session, shell, dialog };
