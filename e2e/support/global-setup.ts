/**
 * Builds the console (out/renderer) before the e2e run when it is missing or older than
 * its sources, because the register serves /console/ from there.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './register';

function newest(dir: string): number {
  let max = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    max = Math.max(max, entry.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return max;
}

export default function globalSetup(): void {
  const built = join(ROOT, 'out', 'renderer', 'index.html');
  const sources = join(ROOT, 'src', 'renderer');
  if (existsSync(built) && statSync(built).mtimeMs >= newest(sources)) return;
  process.stdout.write('e2e: building the console (electron-vite build)…\n');
  execFileSync(join(ROOT, 'node_modules', '.bin', 'electron-vite'), ['build'], { cwd: ROOT, stdio: 'inherit' });
}
