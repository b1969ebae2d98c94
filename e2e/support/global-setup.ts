/**
 * Builds the app (`electron-vite build`) before the e2e run when an output is missing or
 * older than its sources: the register serves /console/ from out/renderer, and the desktop
 * shell check runs out/main (which bundles the register's code).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './register';

function newest(dir: string): number {
  if (!existsSync(dir)) return 0;
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

export default function globalSetup(): void {
  const outputs = ['out/renderer/index.html', 'out/main/index.js', 'out/preload/index.cjs'].map((p) => join(ROOT, p));
  const sources = ['src/renderer', 'src/main', 'src/preload', 'src/server', 'src/shared'].map((p) => join(ROOT, p));
  const built = outputs.every((p) => existsSync(p)) ? Math.min(...outputs.map((p) => statSync(p).mtimeMs)) : 0;
  if (built >= Math.max(...sources.map(newest))) return;
  process.stdout.write('e2e: building the app (electron-vite build)…\n');
  execFileSync(join(ROOT, 'node_modules', '.bin', 'electron-vite'), ['build'], { cwd: ROOT, stdio: 'inherit' });
}
