import { escapeHtml } from '../lib/customer-text.js';

/**
 * Minimal server-side HTML: a tagged template that escapes every interpolation unless it
 * is marked `raw` (already-safe HTML from another `html` call). Pages send a strict CSP,
 * so they never carry inline scripts or styles.
 */
export class SafeHtml {
  constructor(readonly html: string) {}
  toString(): string {
    return this.html;
  }
}

export { escapeHtml };

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(part: Part): string {
  if (part === null || part === undefined || part === false) return '';
  if (Array.isArray(part)) return part.map(render).join('');
  if (part instanceof SafeHtml) return part.html;
  return escapeHtml(part);
}

export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0];
  for (let i = 0; i < values.length; i++) out += render(values[i]) + strings[i + 1];
  return new SafeHtml(out);
}

export const raw = (s: string) => new SafeHtml(s);

/**
 * Strict CSP for pages the register serves to customers: own-origin scripts and styles
 * only, never framed; forms may post (and redirect) to 'self' plus `formTargets`.
 */
export function pageCsp(formTargets: string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    `form-action 'self'${formTargets.map((t) => ` ${t}`).join('')}`,
    "frame-ancestors 'none'",
  ].join('; ');
}

/**
 * CSP for the operator console (/console/, the built React app): scripts, connections, fonts
 * and images from the register's own origin only, no inline script, never framed.
 * Styles also allow inline: the outbox shows each e-mail's HTML in a sandboxed srcdoc frame,
 * which inherits this policy, and e-mail HTML is styled inline. Injected CSS could not send
 * anything anywhere, since images, fonts and connections are limited to 'self'.
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-src 'self'",
  "worker-src 'none'",
  "frame-ancestors 'none'",
].join('; ');
