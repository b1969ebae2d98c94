import { useQueryClient } from '@tanstack/react-query';
import { STAFF_ROLES } from '../../shared/vocabulary';
import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { api, ApiError, basicAuth, configureClient } from './api/client';
import { invalidateEverything } from './api/keys';
import type { Account, Envelope } from './api/types';

/**
 * Console sign-in. The bearer token (7200 s) lives in sessionStorage, so it ends with the
 * tab. In the browser the secret is kept in memory only, to renew the token before it
 * expires; after a reload the operator is asked again near expiry. In the desktop shell the
 * preload script supplies the local administrator's credentials. When the desktop app shows a
 * deployed register's console, that page has no bridge: the app signs in itself and posts the
 * page a bearer token (never the secret), and renews it the same way.
 */

const STORAGE_KEY = 'dar.console.session';
/** Renew this long before the token expires. */
const RENEW_BEFORE_MS = 5 * 60_000;

export interface Session {
  token: string;
  expiresAt: number;
  account: Account;
  desktop: boolean;
  /** A deployed register's console shown by the desktop app (token handed over, no bridge). */
  remote?: boolean;
}

type AuthState = { status: 'starting' } | { status: 'signed-out'; notice: string | null } | { status: 'signed-in'; session: Session };

interface AuthApi {
  state: AuthState;
  signIn(accountId: string, secret: string): Promise<void>;
  signOut(notice?: string | null): void;
  /** Gets a fresh token without asking (desktop, or secret still in memory); false if it cannot. */
  renew(): Promise<boolean>;
  /** true when the token can be renewed without asking the operator. */
  canRenewSilently: boolean;
  isDesktop: boolean;
}

const AuthContext = createContext<AuthApi | null>(null);

let memorySecret: { accountId: string; secret: string } | null = null;

interface DesktopHandoff {
  token: string;
  /** Seconds the token stays valid. */
  expires: number;
}

/**
 * The desktop app hands a deployed register's console its token as a message to the page
 * itself. Only this window may send it (not an opener or a frame on another origin), so no
 * other site can sign this console in to an account of its choosing.
 */
let pendingHandoff: DesktopHandoff | null = null;
let handedOver = false;
const handoffListeners = new Set<(h: DesktopHandoff) => void>();
if (typeof window !== 'undefined') {
  window.addEventListener('message', (event) => {
    if (event.source !== window || event.origin !== window.location.origin) return;
    const h = (event.data as { darDesktopSession?: { token?: unknown; expires?: unknown } } | null)?.darDesktopSession;
    if (!h || typeof h.token !== 'string' || !h.token || typeof h.expires !== 'number') return;
    const handoff = { token: h.token, expires: h.expires };
    handedOver = true;
    pendingHandoff = handoff;
    for (const listener of handoffListeners) listener(handoff);
  });
}

/** true when the desktop app showed this page a deployed register (so its links can switch back). */
export function shownByDesktopApp(): boolean {
  return handedOver || readStored()?.remote === true;
}
let currentToken: string | null = null;

function readStored(): Session | null {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    if (!raw) return null;
    const s = JSON.parse(raw) as Session;
    return s.token && s.expiresAt > Date.now() + 30_000 ? s : null;
  } catch {
    return null;
  }
}

function store(session: Session | null): void {
  try {
    if (session) sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
    else sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Storage unavailable: the session simply does not survive a reload.
  }
}

async function exchange(accountId: string, secret: string, desktop: boolean): Promise<Session> {
  const issued = await api<Envelope & { 'bearer-token': string; expires: number }>('/auth/token', { authorization: basicAuth(accountId, secret) });
  const token = issued['bearer-token'];
  const { account } = await api<Envelope & { account: Account }>('/self', { authorization: `Bearer ${token}` });
  if (!isStaff(account.role)) {
    throw new ApiError(403, [{ code: 'AUTH003', message: `Only administrator and support accounts can use the console; "${account['account-id']}" is neither.` }]);
  }
  return { token, expiresAt: Date.now() + (issued.expires || 7200) * 1000, account, desktop };
}

async function desktopSignIn(): Promise<Session> {
  const desk = window.darDesktop;
  if (!desk) throw new Error('Not running in the desktop app');
  const creds = await desk.getCredentials();
  return exchange(creds.accountId, creds.secret, true);
}

export function AuthProvider({ children }: { children: ReactNode }) {
  const queryClient = useQueryClient();
  const isDesktop = typeof window !== 'undefined' && !!window.darDesktop;
  const [state, setState] = useState<AuthState>({ status: 'starting' });
  const stateRef = useRef(state);
  stateRef.current = state;

  const accept = useCallback((session: Session) => {
    currentToken = session.token;
    store(session);
    setState({ status: 'signed-in', session });
  }, []);

  const signOut = useCallback(
    (notice: string | null = null) => {
      currentToken = null;
      memorySecret = null;
      store(null);
      queryClient.clear();
      setState({ status: 'signed-out', notice });
    },
    [queryClient],
  );

  const signIn = useCallback(
    async (accountId: string, secret: string) => {
      const session = await exchange(accountId, secret, false);
      memorySecret = { accountId, secret };
      accept(session);
    },
    [accept],
  );

  /** One renewal at a time, however many requests failed together. */
  const renewing = useRef<Promise<boolean> | null>(null);
  const renew = useCallback((): Promise<boolean> => {
    if (renewing.current) return renewing.current;
    const current = stateRef.current;
    if (current.status !== 'signed-in') return Promise.resolve(false);
    const attempt = (async () => {
      try {
        if (current.session.desktop) {
          accept(await desktopSignIn());
          return true;
        }
        if (memorySecret && memorySecret.accountId === current.session.account['account-id']) {
          accept(await exchange(memorySecret.accountId, memorySecret.secret, false));
          return true;
        }
      } catch {
        // fall through
      }
      return false;
    })();
    renewing.current = attempt;
    void attempt.finally(() => {
      renewing.current = null;
    });
    return attempt;
  }, [accept]);

  // Wire the API client to the session.
  useEffect(() => {
    configureClient({
      token: () => currentToken,
      onUnauthorized: (error) => {
        if (stateRef.current.status !== 'signed-in') return;
        if (error.has('AUTH006')) {
          signOut('This account has been suspended or terminated.');
          return;
        }
        // An expired token (or a sandbox clock moved past it) is renewed quietly when possible.
        void renew().then((ok) => {
          if (ok) {
            invalidateEverything(queryClient);
          } else {
            signOut('Your session has ended. Please sign in again.');
          }
        });
      },
    });
  }, [renew, signOut, queryClient]);

  // A token handed over by the desktop app (first sign-in and each renewal).
  useEffect(() => {
    let cancelled = false;
    const take = async (h: DesktopHandoff) => {
      try {
        const { account } = await api<Envelope & { account: Account }>('/self', { authorization: `Bearer ${h.token}` });
        if (cancelled || !isStaff(account.role)) return;
        pendingHandoff = null;
        accept({ token: h.token, expiresAt: Date.now() + h.expires * 1000, account, desktop: false, remote: true });
      } catch {
        // A token the register does not accept changes nothing.
      }
    };
    handoffListeners.add(take);
    if (pendingHandoff) void take(pendingHandoff);
    return () => {
      cancelled = true;
      handoffListeners.delete(take);
    };
  }, [accept]);

  // Start: resume this tab's session, or sign in through the desktop shell.
  useEffect(() => {
    let cancelled = false;
    const stored = readStored();
    (async () => {
      if (stored) {
        currentToken = stored.token;
        try {
          const { account } = await api<Envelope & { account: Account }>('/self', { authorization: `Bearer ${stored.token}` });
          if (!cancelled && isStaff(account.role)) {
            if (currentToken === stored.token) accept({ ...stored, account });
            return;
          }
        } catch {
          // Fall through to a fresh sign-in.
        }
        currentToken = null;
        store(null);
      }
      if (isDesktop) {
        try {
          const session = await desktopSignIn();
          if (!cancelled) accept(session);
        } catch (err) {
          if (!cancelled) setState({ status: 'signed-out', notice: `The desktop app could not sign you in: ${(err as Error).message}` });
        }
        return;
      }
      if (!cancelled) setState({ status: 'signed-out', notice: null });
    })();
    return () => {
      cancelled = true;
    };
  }, [accept, isDesktop]);

  // Renew the token shortly before it expires.
  const session = state.status === 'signed-in' ? state.session : null;
  useEffect(() => {
    if (!session) return;
    const renewIn = Math.max(5_000, session.expiresAt - Date.now() - RENEW_BEFORE_MS);
    const timer = window.setTimeout(async () => {
      try {
        if (session.desktop) accept(await desktopSignIn());
        else if (memorySecret && memorySecret.accountId === session.account['account-id']) {
          accept({ ...(await exchange(memorySecret.accountId, memorySecret.secret, false)) });
        }
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) signOut(err.message);
      }
    }, renewIn);
    const hardStop = window.setTimeout(() => signOut('Your session has expired. Please sign in again.'), Math.max(0, session.expiresAt - Date.now()));
    return () => {
      window.clearTimeout(timer);
      window.clearTimeout(hardStop);
    };
  }, [session, accept, signOut]);

  // The desktop app renews a deployed register's token before it ends.
  const canRenewSilently = !!session && (session.desktop || session.remote === true || memorySecret?.accountId === session.account['account-id']);
  const value = useMemo<AuthApi>(() => ({ state, signIn, signOut, renew, canRenewSilently, isDesktop }), [state, signIn, signOut, renew, canRenewSilently, isDesktop]);
  return <AuthContext.Provider value={value}>{children}</AuthContext.Provider>;
}

export function useAuth(): AuthApi {
  const ctx = useContext(AuthContext);
  if (!ctx) throw new Error('useAuth outside AuthProvider');
  return ctx;
}

/** The people who use the console (see the register's role table, docs/security.md "Roles"). */
function isStaff(role: string): boolean {
  return (STAFF_ROLES as readonly string[]).includes(role);
}

/**
 * Whether the signed-in person may manage accounts, records, settings and the sandbox. Support
 * staff may not (the register answers 403); the console hides those actions for them.
 */
export function useIsAdmin(): boolean {
  return useSession().account.role === 'admin';
}

export function useSession(): Session {
  const { state } = useAuth();
  if (state.status !== 'signed-in') throw new Error('Not signed in');
  return state.session;
}
