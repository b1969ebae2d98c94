import type { FastifyReply } from 'fastify';
import { escapeHtml as esc, html, pageCsp, type SafeHtml as Raw } from '../html.js';

// One escaping implementation for every page the register serves (see ../html.ts).
export { escapeHtml as esc, html, raw, SafeHtml as Raw } from '../html.js';

export { humanTime, meterHint } from '../../lib/customer-text.js';

export interface PageOptions {
  title: string;
  /** The organisation asking, shown prominently above the heading. */
  org?: string | null;
  body: Raw;
  /** Scripts served from the register's own origin (no inline script). */
  scripts?: string[];
  /** Extra origins the page's forms may submit or redirect to (form-action). */
  formTargets?: string[];
}

/** The customer-facing page shell: one stylesheet, no inline script or style. */
export function layout(o: PageOptions): string {
  return `<!doctype html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<meta name="referrer" content="same-origin">
<title>${esc(o.title)} · Data Access Register</title>
<link rel="stylesheet" href="/id/assets/id.css">
${(o.scripts ?? []).map((s) => `<script src="${esc(s)}" defer></script>`).join('\n')}
</head>
<body>
<a class="skip" href="#main">Skip to main content</a>
<header class="top"><div class="wrap"><span class="brand" aria-label="Data Access Register"><span class="mark" aria-hidden="true"></span>Data Access Register</span></div></header>
<main id="main" class="wrap" tabindex="-1">
<div class="card">
${o.org ? `<p class="org-label">Request from</p>\n<p class="org">${esc(o.org)}</p>` : ''}
${o.body.html}
</div>
<p class="foot">The Data Access Register records which organisations may use data from your smart meter, and on what legal basis. It never shows your name, address or e-mail address to the organisation asking.</p>
</main>
</body>
</html>`;
}

/** Sends a customer page with the headers every one of them carries. */
export function sendPage(reply: FastifyReply, status: number, o: PageOptions): FastifyReply {
  return (
    reply
      .status(status)
      .header('content-type', 'text/html; charset=utf-8')
      .header('content-security-policy', pageCsp(o.formTargets))
      .header('x-frame-options', 'DENY')
      // Same-origin: POSTs keep their Origin header, and no secret URL leaks to another site.
      .header('referrer-policy', 'same-origin')
      .header('cache-control', 'no-store')
      .header('x-robots-tag', 'noindex, nofollow')
      .send(layout(o))
  );
}

/** A page that only explains something (unknown, expired, used…). */
export function messagePage(reply: FastifyReply, status: number, title: string, paragraphs: (string | Raw)[], org?: string | null, tone: 'info' | 'warn' | 'ok' = 'info'): FastifyReply {
  return sendPage(reply, status, {
    title,
    org,
    body: html`<h1 class="${tone}">${title}</h1>${paragraphs.map((p) => html`<p>${p}</p>`)}`,
  });
}
