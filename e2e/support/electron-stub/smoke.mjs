/**
 * Starts the built desktop main process (out/main/index.js) against the Electron stub and
 * prints one JSON line describing what happened: the URL the window loaded, its web
 * preferences, and what the credentials bridge answers to the console and to another page.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';

const root = process.env.DAR_STUB_APP_PATH ?? process.cwd();
await import(pathToFileURL(join(root, 'out', 'main', 'index.js')).href);
const stub = globalThis.__darElectronStub;
for (let i = 0; i < 300 && stub.loaded.length === 0 && stub.errors.length === 0; i++) await new Promise((r) => setTimeout(r, 100));
const result = { loaded: stub.loaded, errors: stub.errors, webPreferences: stub.windows[0]?.options.webPreferences ?? null };
if (stub.loaded[0]) {
  const url = stub.loaded[0];
  result.credentials = await stub.handlers['dar:get-credentials']({ senderFrame: { url } });
  try {
    await stub.handlers['dar:get-credentials']({ senderFrame: { url: 'http://elsewhere.example/' } });
    result.otherPageGotCredentials = true;
  } catch {
    result.otherPageGotCredentials = false;
  }
  const origin = new URL(url).origin;
  const { accountId, secret } = result.credentials;
  const token = await fetch(`${origin}/v1/auth/token`, { headers: { authorization: `Basic ${Buffer.from(`${accountId}:${secret}`).toString('base64')}` } });
  result.tokenStatus = token.status;
  const bearer = token.ok ? (await token.json())['bearer-token'] : null;
  if (bearer) result.selfRole = (await (await fetch(`${origin}/v1/self`, { headers: { authorization: `Bearer ${bearer}` } })).json()).account?.role;
  result.consoleStatus = (await fetch(url)).status;
}
process.stdout.write(`${JSON.stringify(result)}\n`);
process.exit(0);
