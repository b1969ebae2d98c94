/**
 * The desktop shell under the Electron stand-in (e2e/support/electron-stub), kept running so a
 * test can act as its windows: call the IPC bridge as a given page, fire navigation events,
 * and read what the shell did (windows, loaded URLs, key-store use).
 *
 *   const app = await startDesktop(userDataDir);
 *   await app.waitFor((s) => s.loaded.length > 0);
 *   const info = await app.invoke('dar:registers', app.localConsole());
 *   await app.stop();
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { ROOT } from './register';

export interface DesktopWindow {
  title: string;
  url: string;
  destroyed: boolean;
  webPreferences: Record<string, unknown> | null;
}

export interface DesktopState {
  loaded: string[];
  errors: string[];
  keyStore: { encrypted: number; decrypted: number };
  injected: Array<{ window: number; url: string; code: string }>;
  windows: DesktopWindow[];
}

export interface DesktopApp {
  process: ChildProcess;
  state(): Promise<DesktopState>;
  waitFor(check: (s: DesktopState) => boolean, timeoutMs?: number): Promise<DesktopState>;
  /** Calls an IPC handler as the page at `sender` would; rejects with the handler's error. */
  invoke<T = unknown>(channel: string, sender: string, ...args: unknown[]): Promise<T>;
  /** Fires a webContents event on window `index`; tells whether the shell prevented it. */
  emit(index: number, event: string, url?: string): Promise<{ prevented: boolean }>;
  stop(): Promise<void>;
}

export async function startDesktop(userData: string, env: NodeJS.ProcessEnv = {}): Promise<DesktopApp> {
  const child = spawn(process.execPath, ['--import', join(ROOT, 'e2e/support/electron-stub/register.mjs'), join(ROOT, 'e2e/support/electron-stub/driver.mjs')], {
    cwd: ROOT,
    env: { ...process.env, DAR_STUB_USERDATA: userData, DAR_STUB_APP_PATH: ROOT, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let readyResolve: () => void = () => undefined;
  const ready = new Promise<void>((r) => (readyResolve = r));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    let msg: { id?: number; ready?: boolean; ok?: boolean; result?: unknown; error?: string };
    try {
      msg = JSON.parse(line);
    } catch {
      return; // the register's own output
    }
    if (msg.ready) return readyResolve();
    const w = msg.id === undefined ? undefined : waiting.get(msg.id);
    if (!w) return;
    waiting.delete(msg.id!);
    if (msg.ok) w.resolve(msg.result);
    else w.reject(new Error(msg.error));
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  void exited.then(() => {
    for (const w of waiting.values()) w.reject(new Error(`the desktop shell exited:\n${stderr}`));
  });
  await Promise.race([ready, exited.then(() => Promise.reject(new Error(`the desktop shell exited:\n${stderr}`)))]);

  let next = 1;
  const call = <T>(msg: Record<string, unknown>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.stdin!.write(`${JSON.stringify({ id, ...msg })}\n`);
    });
  const state = () => call<DesktopState>({ cmd: 'state' });
  return {
    process: child,
    state,
    async waitFor(check, timeoutMs = 60_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const s = await state();
        if (check(s)) return s;
        if (Date.now() > deadline) throw new Error(`the desktop shell did not get there: ${JSON.stringify(s).slice(0, 2000)}\n${stderr}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    },
    invoke: (channel, sender, ...args) => call({ cmd: 'invoke', channel, sender, args }),
    emit: (index, event, url) => call({ cmd: 'emit', window: index, event, url }),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(killer);
      }
    },
  };
}
