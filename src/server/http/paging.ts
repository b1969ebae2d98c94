/**
 * The page a list request asks for, from its `limit` / `cursor` / `offset` query parameters
 * (schemas: PagingQuery, AdminPagingQuery in src/shared/schemas/common.ts). One conversion for
 * every list route, so the default page size and the cursor's form are decided once.
 */

/** Rows per page when `limit` is absent (the schemas' default, for routes that skip it). */
export const DEFAULT_PAGE_SIZE = 200;

/** The public lists: keyset paging on `seq`, whose next-cursor is the last row's seq. */
export function seqPage(q: { limit?: number; cursor?: string }, defaultLimit = DEFAULT_PAGE_SIZE): { limit: number; cursor: number | undefined } {
  return { limit: q.limit ?? defaultLimit, cursor: q.cursor ? Number(q.cursor) : undefined };
}

/** The admin lists ([ours]): an opaque cursor (seq, or a chosen sort's key) or an offset. */
export function adminPage(q: { limit?: number; cursor?: string; offset?: number }): { limit: number; cursor: string | undefined; offset: number | undefined } {
  return { limit: q.limit ?? DEFAULT_PAGE_SIZE, cursor: q.cursor, offset: q.offset };
}
