/**
 * A small typed client for the register's JSON API. Every body carries a `response`
 * envelope; errors carry `errors: [{"error-code", message}]`. `api()` returns the body
 * (minus nothing: callers pick the fields they need) and throws `ApiError` with the
 * register's own messages on failure, never a stack or raw HTML.
 */

export interface ApiErrorEntry {
  code: string;
  message: string;
}

export class ApiError extends Error {
  readonly status: number;
  readonly errors: ApiErrorEntry[];

  constructor(status: number, errors: ApiErrorEntry[]) {
    super(errors.map((e) => e.message).join(' · ') || `The register answered HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.errors = errors;
  }

  /** First error code, e.g. `CON001`; `NET` when the register could not be reached. */
  get code(): string {
    return this.errors[0]?.code ?? `HTTP${this.status}`;
  }

  has(code: string): boolean {
    return this.errors.some((e) => e.code === code);
  }
}

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Overrides the bearer token, e.g. Basic credentials for /auth/token. */
  authorization?: string | null;
  signal?: AbortSignal;
}

interface ClientHooks {
  token: () => string | null;
  /** Called when the register says the bearer token is no longer valid. */
  onUnauthorized: (error: ApiError) => void;
}

let hooks: ClientHooks = { token: () => null, onUnauthorized: () => undefined };

export function configureClient(next: ClientHooks): void {
  hooks = next;
}

/** The session's bearer token, for the few requests that are not JSON (streamed CSV exports). */
export function bearerToken(): string | null {
  return hooks.token();
}

/** Difference between the register's clock (sandbox clock included) and this machine's. */
let serverSkewMs = 0;

export function serverNow(): number {
  return Date.now() + serverSkewMs;
}

export function setServerTime(iso: string | null | undefined): void {
  if (!iso) return;
  const t = Date.parse(iso);
  if (!Number.isNaN(t)) serverSkewMs = t - Date.now();
}

export const API_BASE = '/v1';

export function buildUrl(path: string, query?: Record<string, QueryValue>): string {
  const url = path.startsWith('/v1') ? path : `${API_BASE}${path}`;
  if (!query) return url;
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === '') continue;
    params.set(key, String(value));
  }
  const qs = params.toString();
  return qs ? `${url}?${qs}` : url;
}

function errorsFrom(status: number, body: unknown): ApiErrorEntry[] {
  if (body && typeof body === 'object') {
    const b = body as { errors?: unknown; message?: unknown };
    if (Array.isArray(b.errors)) {
      const list = b.errors
        .map((e) => {
          const entry = e as { 'error-code'?: unknown; message?: unknown };
          return { code: String(entry['error-code'] ?? `HTTP${status}`), message: String(entry.message ?? '') };
        })
        .filter((e) => e.message);
      if (list.length) return list;
    }
    if (typeof b.message === 'string' && b.message) return [{ code: `HTTP${status}`, message: b.message }];
  }
  if (status === 404) return [{ code: 'NOT001', message: 'Not found (the register may not offer this yet).' }];
  return [{ code: `HTTP${status}`, message: `The register answered HTTP ${status}.` }];
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const authorization = options.authorization === undefined ? (hooks.token() ? `Bearer ${hooks.token()}` : null) : options.authorization;
  if (authorization) headers.Authorization = authorization;
  let body: string | undefined;
  if (options.body !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.body);
  }
  let res: Response;
  try {
    res = await fetch(buildUrl(path, options.query), { method: options.method ?? 'GET', headers, body, signal: options.signal, credentials: 'omit' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, [{ code: 'NET', message: 'The register cannot be reached. Check that it is running, then try again.' }]);
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let parsed: unknown = null;
  if (text) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  const envelope = (parsed as { response?: { timestamp?: string } } | null)?.response;
  if (envelope?.timestamp) setServerTime(envelope.timestamp);
  if (!res.ok) {
    const error = new ApiError(res.status, errorsFrom(res.status, parsed));
    // Only the session's own token ends the session; explicit credentials are the caller's business.
    if (res.status === 401 && options.authorization === undefined && authorization) hooks.onUnauthorized(error);
    throw error;
  }
  if (parsed === null) throw new ApiError(res.status, [{ code: 'SRV001', message: 'The register sent a response the console could not read.' }]);
  return parsed as T;
}

/** `Authorization: Basic …` for an account id and secret (UTF-8 safe). */
export function basicAuth(accountId: string, secret: string): string {
  const bytes = new TextEncoder().encode(`${accountId}:${secret}`);
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return `Basic ${btoa(binary)}`;
}

export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error && err.message) return err.message;
  return 'Something went wrong.';
}
