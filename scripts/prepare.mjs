#!/usr/bin/env node
// Runs after `npm ci` / `npm install` (npm's `prepare` lifecycle): makes a fresh clone ready for
// `npm run demo` by building the console (and the desktop bundles) with electron-vite.
//
// Electron is an optional dependency: the headless register never needs its binary, and a
// machine that cannot download it (no access to its release host) must still install. When the
// download fails, npm drops the whole optional `electron` package, yet its JavaScript and type
// definitions are still needed (`npm run typecheck` reads electron.d.ts for src/main, and
// electron-vite reads its version to target the right Node). So it is put back from the lock
// file without running its install script: the same state `ELECTRON_SKIP_BINARY_DOWNLOAD=1`
// gives. See docs/desktop.md for fetching the binary later.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const electronDir = join(root, 'node_modules', 'electron');
const npm = process.env.npm_execpath ? [process.execPath, [process.env.npm_execpath]] : ['npm', []];
const omitted = (process.env.npm_config_omit ?? '').split(/[\s,]+/).includes('optional');

function run(cmd, args, env = process.env) {
  const res = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  return res.status ?? 1;
}

if (!existsSync(join(electronDir, 'package.json')) && !omitted) {
  console.log("prepare: Electron's binary could not be installed; restoring the electron package without it (the headless register does not need it)");
  const [cmd, pre] = npm;
  const code = run(cmd, [...pre, 'install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund']);
  if (code !== 0) console.log('prepare: could not restore the electron package; building for the locked Electron version anyway');
}

// electron-vite reads Electron's major version from node_modules/electron; without the package
// (offline, or installed with --omit=optional) take it from the lock file instead.
const env = { ...process.env };
if (!existsSync(join(electronDir, 'package.json')) && !env.ELECTRON_MAJOR_VER) {
  const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8'));
  const version = lock.packages?.['node_modules/electron']?.version;
  if (version) env.ELECTRON_MAJOR_VER = version.split('.')[0];
}

console.log('prepare: building the console and the desktop bundles (electron-vite build)');
const built = run(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], env);
if (built !== 0) process.exit(built);

const binary = existsSync(join(electronDir, 'path.txt'));
console.log(
  binary
    ? 'prepare: ready. `npm run demo` starts the register with demo data; `npm start` the desktop app.'
    : "prepare: ready. `npm run demo` starts the register with demo data. (Electron's binary is not installed: the desktop app needs it, see docs/desktop.md.)",
);
