#!/usr/bin/env node
// Runs after `npm ci` / `npm install` (npm's `prepare` lifecycle): makes a fresh clone ready for
// `npm run demo` by building the console (and the desktop bundles) with electron-vite.
//
// Electron's binary is only needed by the desktop app; the headless register never uses it.
// Electron's own postinstall downloads it and fails the whole install when the download fails
// (no access to its release host). So package.json denies that script (`allowScripts`), which
// keeps the `electron` package itself (its types for `npm run typecheck`, its version for
// electron-vite), and the download is attempted here instead, where a failure is only a notice.
// Making electron an optional dependency does not work: npm skips an optional package whose
// `engines` do not match (Electron 41 asks for Node 22.12+, the register runs on 20.19+),
// so electron.d.ts would be missing and the type-check would fail. See docs/desktop.md.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = join(root, 'node_modules', 'electron');
/** The download may not hang the install: the release host may be unreachable rather than refusing. */
const DOWNLOAD_TIMEOUT_MS = 5 * 60_000;

function run(args, opts = {}) {
  const res = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', ...opts });
  return res.error ? 1 : (res.status ?? 1);
}

const binaryPresent = () => existsSync(join(electronDir, 'path.txt'));

if (existsSync(join(electronDir, 'install.js')) && !binaryPresent()) {
  if (process.env.ELECTRON_SKIP_BINARY_DOWNLOAD) {
    console.log("prepare: ELECTRON_SKIP_BINARY_DOWNLOAD is set: not downloading Electron's binary");
  } else {
    console.log("prepare: downloading Electron's binary (for the desktop app only)");
    const code = run([join(electronDir, 'install.js')], { timeout: DOWNLOAD_TIMEOUT_MS, killSignal: 'SIGKILL' });
    if (code !== 0 || !binaryPresent()) {
      console.log("prepare: Electron's binary could not be downloaded; continuing without it (the headless register does not need it).");
    }
  }
}

console.log('prepare: building the console and the desktop bundles (electron-vite build)');
const built = run([join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build']);
if (built !== 0) process.exit(built);

console.log(
  binaryPresent()
    ? 'prepare: ready. `npm run demo` starts the register with demo data; `npm start` the desktop app.'
    : "prepare: ready. `npm run demo` starts the register with demo data. (Electron's binary is not installed: the desktop app needs it, see docs/desktop.md.)",
);
