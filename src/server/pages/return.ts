import type { App, Deps } from '../http/types.js';
import { html, messagePage, sendPage } from './id/layout.js';

const KNOWN: Record<string, string> = {
  'dar-reid-token': 'Re-identification token from a confirmed magic link. Check it with GET /v1/identity-records/reidentify/{token} (or …/{ir}/re-identify/{token}), then use it once as reidentification-token.',
  'dar-passkey-token': 'Re-identification token from a completed passkey ceremony. Check it the same way, then use it once.',
  'dar-action': 'What the customer did on the register’s pages (e.g. a portal withdrawal).',
};

/**
 * GET /return — sandbox only. The demo accounts' pre-registered return URL: shows the
 * query string the register sent the customer back with, so every flow can be walked
 * end to end without a Data User's own app.
 */
export function registerReturnPage(app: App, { reg }: Deps): void {
  app.get('/return', { schema: { hide: true } }, async (req, reply) => {
    if (reg.config.mode !== 'sandbox') return messagePage(reply, 404, 'Not available', ['The sandbox return page only exists in sandbox mode.']);
    const params = [...new URL(req.url, reg.origin).searchParams.entries()].slice(0, 50);
    const token = params.find(([k]) => k === 'dar-reid-token' || k === 'dar-passkey-token')?.[1];
    const statusPath = token && /^mlr_[0-9a-f]{24}$/.test(token) ? `/v1/identity-records/reidentify/${token}` : null;
    return sendPage(reply, 200, {
      title: 'Sandbox return page',
      body: html`
<h1>Back from the register</h1>
<p>This is the register’s sandbox return page. In a real integration this would be your own app’s page, registered as a return URL for your account. It received:</p>
${
  params.length
    ? html`<table class="params" aria-label="Query parameters received">
<thead><tr><th scope="col">Parameter</th><th scope="col">Value</th></tr></thead>
<tbody>${params.map(([k, v]) => html`<tr><th scope="row"><code>${k}</code>${KNOWN[k] ? html`<br><span class="muted">${KNOWN[k]}</span>` : ''}</th><td><code id="param-${k}">${v}</code></td></tr>`)}</tbody>
</table>`
    : html`<p class="muted">No query parameters.</p>`
}
${
  statusPath
    ? html`<p>Next: check the token’s status as the account that started it, then use it once.</p>
<pre>curl -s -H "Authorization: Bearer $TOKEN" ${reg.origin}${statusPath}</pre>`
    : ''
}`,
    });
  });
}
