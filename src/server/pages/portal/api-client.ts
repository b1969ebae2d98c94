import type { App } from '../../http/types.js';
import type { Register } from '../../context.js';
import { issueToken } from '../../http/auth.js';
import type { Services } from '../../services/index.js';

export interface ApiResult<T = any> {
  status: number;
  body: T & { errors?: { 'error-code': string; message: string }[] };
}

/**
 * The portal uses the register's public API exactly as an external portal operator would,
 * as its configured portal account — but in-process (Fastify inject), with a bearer token
 * minted server-side. The customer never sees any credential.
 */
export class PortalApi {
  private cached: { token: string; until: number } | null = null;

  constructor(
    private readonly app: App,
    private readonly reg: Register,
    private readonly svc: Services,
    readonly accountId: string,
  ) {}

  async account() {
    const a = await this.svc.accounts.find(this.accountId);
    return a && a.role === 'portal' && a.status === 'active' ? a : null;
  }

  private async token(): Promise<string> {
    if (this.cached && this.cached.until > Date.now()) return this.cached.token;
    const account = await this.account();
    if (!account) throw new Error(`portal account "${this.accountId}" is missing, suspended or not a portal account`);
    const token = await issueToken(this.reg, account);
    this.cached = { token, until: Date.now() + 60 * 60 * 1000 };
    return token;
  }

  async call<T = any>(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<ApiResult<T>> {
    const first = await this.send<T>(method, url, body);
    if (first.status !== 401 || !this.cached) return first;
    // The cached token was ended (the portal account's secret rotated, or an administrator
    // signed it out everywhere): mint a fresh one once.
    this.cached = null;
    return this.send<T>(method, url, body);
  }

  private async send<T>(method: 'GET' | 'POST' | 'DELETE', url: string, body?: unknown): Promise<ApiResult<T>> {
    const res = await this.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${await this.token()}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { payload: JSON.stringify(body) } : {}),
    });
    return { status: res.statusCode, body: (res.body ? res.json() : {}) as ApiResult<T>['body'] };
  }
}
