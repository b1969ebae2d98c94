import { contextBridge, ipcRenderer } from 'electron';
import type { DarDesktopApi, DarDesktopConnectRequest, DarDesktopConnectResult, DarDesktopCredentials, DarDesktopRegisters, DarDesktopSaveRequest, DarDesktopSaveResult } from './api';
import { IPC } from '../main/ipc';

/** Reads `--dar-<name>=value` from the arguments the main process passed to this renderer. */
function arg(name: string): string {
  const prefix = `--dar-${name}=`;
  const found = process.argv.find((a) => a.startsWith(prefix));
  return found ? decodeURIComponent(found.slice(prefix.length)) : '';
}

const api: DarDesktopApi = {
  version: arg('version'),
  dataFolder: arg('data-folder'),
  openInBrowser: (url: string) => ipcRenderer.invoke(IPC.openInBrowser, url) as Promise<void>,
  revealDataFolder: () => ipcRenderer.invoke(IPC.revealDataFolder) as Promise<void>,
  saveExport: (request: DarDesktopSaveRequest) => ipcRenderer.invoke(IPC.saveExport, request) as Promise<DarDesktopSaveResult>,
  getCredentials: () => ipcRenderer.invoke(IPC.getCredentials) as Promise<DarDesktopCredentials>,
  registers: () => ipcRenderer.invoke(IPC.registers) as Promise<DarDesktopRegisters>,
  connectRegister: (request: DarDesktopConnectRequest) => ipcRenderer.invoke(IPC.connectRegister, request) as Promise<DarDesktopConnectResult>,
  forgetRegister: (url: string) => ipcRenderer.invoke(IPC.forgetRegister, url) as Promise<void>,
};

contextBridge.exposeInMainWorld('darDesktop', Object.freeze(api));
