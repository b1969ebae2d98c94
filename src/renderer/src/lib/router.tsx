import { useCallback, useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent, type ReactNode } from 'react';

/**
 * Hash routing (`/console/#/data-users/bright_energy?tab=webhooks`): the register serves
 * the console as static files and does not rewrite unknown paths to index.html.
 */

const LOCAL_EVENT = 'dar:route';

function subscribe(onChange: () => void): () => void {
  window.addEventListener('hashchange', onChange);
  window.addEventListener(LOCAL_EVENT, onChange);
  return () => {
    window.removeEventListener('hashchange', onChange);
    window.removeEventListener(LOCAL_EVENT, onChange);
  };
}

function readHash(): string {
  return window.location.hash || '#/';
}

export interface Route {
  /** Path without the query, always starting with `/`. */
  path: string;
  segments: string[];
  params: URLSearchParams;
}

export function parseHash(hash: string): Route {
  const raw = hash.replace(/^#/, '') || '/';
  const q = raw.indexOf('?');
  const path = (q === -1 ? raw : raw.slice(0, q)) || '/';
  const params = new URLSearchParams(q === -1 ? '' : raw.slice(q + 1));
  return { path, segments: path.split('/').filter(Boolean).map(decodeURIComponent), params };
}

export function useRoute(): Route {
  const hash = useSyncExternalStore(subscribe, readHash);
  return parseHash(hash);
}

export function href(path: string, params?: Record<string, string | undefined | null>): string {
  const search = new URLSearchParams();
  for (const [k, v] of Object.entries(params ?? {})) if (v !== undefined && v !== null && v !== '') search.set(k, v);
  const qs = search.toString();
  return `#${path}${qs ? `?${qs}` : ''}`;
}

export function navigate(to: string, options: { replace?: boolean } = {}): void {
  const target = to.startsWith('#') ? to : `#${to}`;
  if (options.replace) {
    window.history.replaceState(window.history.state, '', target);
    window.dispatchEvent(new Event(LOCAL_EVENT));
  } else {
    window.location.hash = target;
  }
}

/** Filter state kept in the URL, so every filtered view can be bookmarked and shared. */
export function useSearchParams(): [URLSearchParams, (changes: Record<string, string | null | undefined>) => void] {
  const route = useRoute();
  const update = useCallback((changes: Record<string, string | null | undefined>) => {
    const current = parseHash(readHash());
    for (const [k, v] of Object.entries(changes)) {
      if (v === undefined || v === null || v === '') current.params.delete(k);
      else current.params.set(k, v);
    }
    const qs = current.params.toString();
    navigate(`${current.path}${qs ? `?${qs}` : ''}`, { replace: true });
  }, []);
  return [route.params, update];
}

interface LinkProps extends Omit<AnchorHTMLAttributes<HTMLAnchorElement>, 'href'> {
  to: string;
  children: ReactNode;
}

export function Link({ to, children, onClick, ...rest }: LinkProps) {
  const target = to.startsWith('#') ? to : `#${to}`;
  return (
    <a
      href={target}
      onClick={(e: MouseEvent<HTMLAnchorElement>) => {
        onClick?.(e);
      }}
      {...rest}
    >
      {children}
    </a>
  );
}
