/**
 * A customer's browser, for inject tests of the register's own pages: a cookie jar, the
 * register's origin on state-changing requests, and helpers that walk a magic link or a
 * passkey ceremony the way a person would.
 */
import type { TestRegister } from './register.js';
import type { SoftAuthenticator, Tamper } from './soft-authenticator.js';

export interface PageResponse {
  status: number;
  body: string;
  json: any;
  headers: Record<string, any>;
}

export class Customer {
  readonly cookies = new Map<string, string>();

  constructor(private readonly r: TestRegister) {}

  private cookieHeader(): string | undefined {
    return this.cookies.size ? [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ') : undefined;
  }

  private remember(setCookie: unknown): void {
    const list = Array.isArray(setCookie) ? setCookie : setCookie ? [setCookie] : [];
    for (const c of list as string[]) {
      const [pair] = c.split(';');
      const eq = pair.indexOf('=');
      this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }

  async request(method: string, url: string, opts: { form?: Record<string, string>; json?: unknown; headers?: Record<string, string>; origin?: string | null } = {}): Promise<PageResponse> {
    const path = url.startsWith('http') ? new URL(url).pathname + new URL(url).search : url;
    const headers: Record<string, string> = { ...opts.headers };
    const cookie = this.cookieHeader();
    if (cookie) headers.cookie = cookie;
    if (method !== 'GET' && method !== 'HEAD' && opts.origin !== null) headers.origin = opts.origin ?? this.r.reg.origin;
    let payload: string | undefined;
    if (opts.form) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      payload = new URLSearchParams(opts.form).toString();
    } else if (opts.json !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.json);
    }
    const res = await this.r.app.inject({ method: method as 'GET', url: path, headers, payload });
    this.remember(res.headers['set-cookie']);
    let json: unknown = null;
    try {
      json = JSON.parse(res.body);
    } catch {
      // a page
    }
    return { status: res.statusCode, body: res.body, json, headers: res.headers };
  }

  get(url: string) {
    return this.request('GET', url);
  }

  /** The hidden CSRF field of a page's form. */
  static csrfField(page: string): string | null {
    return /name="csrf" value="([^"]+)"/.exec(page)?.[1] ?? null;
  }

  /** The page script's CSRF value (data-csrf on #ceremony). */
  static dataCsrf(page: string): string | null {
    return /data-csrf="([^"]+)"/.exec(page)?.[1] ?? null;
  }

  /** Opens a magic link and presses "Yes, it's me". Returns the POST's response. */
  async confirmMagicLink(link: string): Promise<PageResponse> {
    const page = await this.get(link);
    if (page.status !== 200) return page;
    const csrf = Customer.csrfField(page.body);
    return this.request('POST', link, { form: { csrf: csrf ?? '' } });
  }

  /** Opens a passkey page and returns its session id and CSRF value. */
  async openPasskeyPage(url: string): Promise<{ page: PageResponse; session: string; csrf: string }> {
    const page = await this.get(url);
    const session = new URL(url).searchParams.get('session')!;
    return { page, session, csrf: Customer.dataCsrf(page.body) ?? '' };
  }

  options(session: string, csrf: string) {
    return this.request('POST', '/id/passkey/options', { json: { session }, headers: { 'x-dar-csrf': csrf } });
  }

  verify(session: string, csrf: string, step: string, response: unknown) {
    return this.request('POST', '/id/passkey/verify', { json: { session, step, response }, headers: { 'x-dar-csrf': csrf } });
  }

  /**
   * Runs one ceremony step as the page script does: options, then the authenticator's
   * create/get, then verify. Returns the verify response.
   */
  async passkeyStep(session: string, csrf: string, auth: SoftAuthenticator, tamper: Tamper = {}, counter?: number): Promise<PageResponse & { step: string }> {
    const opt = await this.options(session, csrf);
    if (opt.status !== 200) return { ...opt, step: 'none' };
    const step = opt.json.step as string;
    const response = step === 'register' ? auth.register(opt.json.options, tamper) : auth.assert(opt.json.options, tamper, counter);
    return { ...(await this.verify(session, csrf, step, response)), step };
  }
}

/** The link in the newest outbox message about `tokenRef` (as the customer would read it in their mailbox). */
export async function linkFromOutbox(r: TestRegister, tokenRef: string): Promise<string> {
  const res = await r.call('admin_ops', 'GET', `/v1/admin/outbox?ref=${tokenRef}`);
  if (res.status !== 200 || res.body.messages.length === 0) throw new Error(`no message for ${tokenRef}: ${JSON.stringify(res.body)}`);
  const link = (res.body.messages[0].links as string[]).find((l) => l.includes('/id/magic/'));
  if (!link) throw new Error(`no magic link in the message for ${tokenRef}`);
  return link;
}
