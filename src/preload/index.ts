import { contextBridge, ipcRenderer } from 'electron';
import type { DarDesktopApi, DarDesktopCredentials, DarDesktopSaveRequest, DarDesktopSaveResult } from './api';
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
};

contextBridge.exposeInMainWorld('darDesktop', Object.freeze(api));
