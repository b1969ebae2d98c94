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
}

declare global {
  interface Window {
    darDesktop?: DarDesktopApi;
  }
}
