/** IPC channel names shared by the main process and the preload script. */
export const IPC = {
  openInBrowser: 'dar:open-in-browser',
  revealDataFolder: 'dar:reveal-data-folder',
  saveExport: 'dar:save-export',
  getCredentials: 'dar:get-credentials',
  registers: 'dar:registers',
  connectRegister: 'dar:connect-register',
  forgetRegister: 'dar:forget-register',
} as const;
