/**
 * Runs the built desktop main process (out/main/index.js) against the Electron stub and takes
 * commands from a test, one JSON line each on stdin, answering one JSON line each on stdout:
 *
 *   {"id":1,"cmd":"state"}                                     windows, loaded URLs, key-store use
 *   {"id":2,"cmd":"invoke","channel":"dar:registers","sender":"<page url>","args":[…]}
 *   {"id":3,"cmd":"emit","window":1,"event":"will-navigate","url":"…"}   → {prevented}
 *
 * Start it with `node --import ./register.mjs ./driver.mjs` (see e2e/support/desktop.ts).
 */
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = process.env.DAR_STUB_APP_PATH ?? process.cwd();
const send = (msg) => process.stdout.write(`${JSON.stringify(msg)}\n`);
await import(pathToFileURL(join(root, 'out', 'main', 'index.js')).href);
const stub = globalThis.__darElectronStub;

function state() {
  return {
    loaded: stub.loaded,
    errors: stub.errors,
    keyStore: stub.keyStore,
    injected: stub.injected,
    windows: stub.windows.map((w) => ({ title: w.title, url: w.url, destroyed: w.destroyed, webPreferences: w.options?.webPreferences ?? null })),
  };
}

async function run(msg) {
  switch (msg.cmd) {
    case 'state':
      return state();
    case 'invoke': {
      const handler = stub.handlers[msg.channel];
      if (!handler) throw new Error(`no handler for ${msg.channel}`);
      return await handler({ senderFrame: { url: msg.sender } }, ...(msg.args ?? []));
    }
    case 'emit': {
      const win = stub.windows[msg.window];
      if (!win) throw new Error(`no window ${msg.window}`);
      let prevented = false;
      const event = { preventDefault: () => (prevented = true) };
      for (const fn of win.webContents.events[msg.event] ?? []) await fn(event, msg.url);
      return { prevented };
    }
    default:
      throw new Error(`unknown command ${msg.cmd}`);
  }
}

send({ ready: true });
for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue;
  const msg = JSON.parse(line);
  try {
    send({ id: msg.id, ok: true, result: (await run(msg)) ?? null });
  } catch (err) {
    send({ id: msg.id, ok: false, error: err.message });
  }
}
process.exit(0);
