/**
 * The base the feature modules (api/<feature>.ts) build on: server-side lists, read a page
 * at a time ("Load more" or paged tables), and mutations that keep the cache in step.
 */
import { keepPreviousData, useInfiniteQuery, useMutation, useQuery, useQueryClient, type QueryClient, type QueryKey, type UseMutationOptions } from '@tanstack/react-query';
import { api, type QueryValue } from './client';
import type { Envelope, Page } from './types';

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

export interface ListState {
  sort: string | null;
  order: 'asc' | 'desc' | null;
  size: number;
  /** First row shown (0-based). */
  offset: number;
}

export interface TablePage<T> {
  rows: T[];
  total: number | null;
  isLoading: boolean;
  isFetching: boolean;
  error: unknown;
  /** The last failed fetch's error, also while earlier rows are still shown (live lists). */
  failureReason: unknown;
  refetch: () => void;
}

/** One page (`offset`, `size`) of a server-side list with its filters and sort. */
export function useTablePage<T>(key: QueryKey, path: string, itemsKey: string, params: Record<string, QueryValue>, state: ListState, opts: { enabled?: boolean; refetchInterval?: number } = {}): TablePage<T> {
  const query = useQuery({
    // A list of personal data waits for a search (enabled: false) instead of listing everything.
    enabled: opts.enabled ?? true,
    refetchInterval: opts.refetchInterval,
    queryKey: [...key, params, state.sort, state.order, state.size, state.offset],
    queryFn: ({ signal }) =>
      api<Envelope & { total?: number } & Record<string, unknown>>(path, {
        query: { ...params, sort: state.sort ?? undefined, order: state.order ?? undefined, limit: state.size, offset: state.offset || undefined },
        signal,
      }),
    placeholderData: keepPreviousData,
  });
  const data = query.data;
  return {
    rows: data && Array.isArray(data[itemsKey]) ? (data[itemsKey] as T[]) : [],
    total: typeof data?.total === 'number' ? data.total : null,
    isLoading: query.isLoading,
    isFetching: query.isFetching,
    error: query.error,
    failureReason: query.failureReason,
    refetch: () => void query.refetch(),
  };
}

/** What a screen adds to a feature's mutation: toasts, closing dialogs, navigation. */
export type MutationUi<TData, TVars> = Pick<UseMutationOptions<TData, Error, TVars>, 'onSuccess' | 'onError' | 'onMutate' | 'onSettled'>;

/**
 * A mutation whose cache upkeep (`afterSuccess`: invalidations, cache writes) runs before the
 * screen's own `onSuccess`, so every caller keeps the cache the same way. A promise returned by
 * `afterSuccess` is awaited (the outbox waits for its list before it says "deleted").
 */
export function useApiMutation<TData, TVars = void>(mutationFn: (vars: TVars) => Promise<TData>, afterSuccess: (qc: QueryClient, data: TData, vars: TVars) => unknown, ui: MutationUi<TData, TVars> = {}) {
  const qc = useQueryClient();
  return useMutation<TData, Error, TVars>({
    ...ui,
    mutationFn,
    onSuccess: async (...args) => {
      await afterSuccess(qc, args[0], args[1]);
      return ui.onSuccess?.(...args);
    },
  });
}
