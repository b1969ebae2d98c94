/**
 * The one object the desktop shell's preload script exposes to the console
 * (`window.darDesktop`). In a plain browser it is undefined.
 */
export interface DarDesktopCredentials {
  accountId: string;
  secret: string;
}

export interface DarDesktopSaveRequest {
  /** Suggested file name, e.g. `audit-2026-03-24.csv`. */
  defaultName: string;
  /** The text to write. */
  content: string;
  /** File-type filter shown in the dialog, e.g. `{ name: 'CSV', extensions: ['csv'] }`. */
  filter?: { name: string; extensions: string[] };
}

export interface DarDesktopSaveResult {
  /** false when the user cancelled the dialog. */
  saved: boolean;
  path: string | null;
}

/** What the local console may know about the registers the app can connect to (no secrets). */
export interface DarDesktopRegisters {
  current: 'local';
  /** false when the operating system offers no key store: credentials then last one run only. */
  keyStore: boolean;
  /** Why the app shows the local sandbox although a deployed register was chosen, if it does. */
  notice: string | null;
  /** Deployed registers used before, most recent first; accountId null when none is stored. */
  remotes: Array<{ url: string; accountId: string | null }>;
}

export interface DarDesktopConnectRequest {
  /** https://… (http:// only for localhost). */
  url: string;
  /** Omit both to use the credentials stored in the key store for this register. */
  accountId?: string;
  secret?: string;
}

export interface DarDesktopConnectResult {
  ok: boolean;
  message: string | null;
}

export interface DarDesktopApi {
  /** Application version (package.json). */
  readonly version: string;
  /** Folder holding the register's database and keys. */
  readonly dataFolder: string;
  /** Opens an http(s) URL in the user's default browser. */
  openInBrowser(url: string): Promise<void>;
  /** Shows the data folder in the system file manager. */
  revealDataFolder(): Promise<void>;
  /** Asks where to save, then writes the text there. */
  saveExport(request: DarDesktopSaveRequest): Promise<DarDesktopSaveResult>;
  /** The local administrator's credentials, used by the console to sign in by itself. */
  getCredentials(): Promise<DarDesktopCredentials>;
  /** The local sandbox and the deployed registers used before. */
  registers(): Promise<DarDesktopRegisters>;
  /** Signs in to a deployed register, keeps the credentials in the key store, and switches the window to it. */
  connectRegister(request: DarDesktopConnectRequest): Promise<DarDesktopConnectResult>;
  /** Removes a deployed register and its stored credentials. */
  forgetRegister(url: string): Promise<void>;
}

declare global {
  interface Window {
    darDesktop?: DarDesktopApi;
  }
}
