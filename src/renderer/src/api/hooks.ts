import { useInfiniteQuery, useQuery, type QueryKey } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import type { Envelope, Page, Settings, Stats } from './types';

/** Rows per request for on-screen lists ("Load more" fetches the next page). */
export const PAGE_SIZE = 50;

export interface PagedList<T> {
  items: T[];
  total: number | null;
  isLoading: boolean;
  isFetching: boolean;
  error: unknown;
  hasMore: boolean;
  loadMore: () => void;
  loadingMore: boolean;
  refetch: () => void;
  /** Set once at least one page arrived. */
  loaded: boolean;
  /** Why the latest fetch failed (cleared by the next answer), for the "Live" indicator. */
  failureReason: unknown;
}

/**
 * One server-side list: filters go to the register as query parameters and pages follow
 * `next-cursor`, so even a million rows are never fetched at once.
 */
export function usePagedList<T>(key: QueryKey, path: string, itemsKey: string, params: Record<string, QueryValue>, options: { enabled?: boolean; refetchInterval?: number | false; pageSize?: number } = {}): PagedList<T> {
  const limit = options.pageSize ?? PAGE_SIZE;
  const query = useInfiniteQuery({
    queryKey: [...key, params],
    queryFn: ({ pageParam, signal }) => api<Envelope & Page & Record<string, unknown>>(path, { query: { ...params, limit, cursor: pageParam }, signal }),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (last) => last['next-cursor'] ?? undefined,
    enabled: options.enabled ?? true,
    refetchInterval: options.refetchInterval,
  });
  const pages = query.data?.pages ?? [];
  const items = pages.flatMap((p) => (Array.isArray(p[itemsKey]) ? (p[itemsKey] as T[]) : []));
  const first = pages[0];
  return {
    items,
    total: typeof first?.total === 'number' ? first.total : null,
    isLoading: query.isLoading,
    isFetching: query.isFetching,
    error: query.error,
    hasMore: query.hasNextPage,
    loadMore: () => void query.fetchNextPage(),
    loadingMore: query.isFetchingNextPage,
    refetch: () => void query.refetch(),
    loaded: pages.length > 0,
    failureReason: query.failureReason,
  };
}

export function useSettings() {
  return useQuery({
    queryKey: ['settings'],
    queryFn: ({ signal }) => api<Envelope & Settings>('/admin/settings', { signal }),
    staleTime: 60_000,
  });
}

export function useStats(refetchInterval: number | false = 15_000) {
  return useQuery({
    queryKey: ['stats'],
    queryFn: ({ signal }) => api<Envelope & Stats>('/admin/stats', { signal }),
    refetchInterval,
  });
}

/** Sandbox or production, from settings (or stats while settings are missing). */
export function useMode(): 'sandbox' | 'production' | null {
  const settings = useSettings();
  const stats = useQuery({
    queryKey: ['stats'],
    queryFn: ({ signal }) => api<Envelope & Stats>('/admin/stats', { signal }),
    enabled: settings.isError,
  });
  return settings.data?.mode ?? stats.data?.mode ?? null;
}
