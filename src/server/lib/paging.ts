/**
 * Keyset paging on the `seq` column: queries fetch `limit + 1` rows newest first; the extra
 * row only tells whether another page exists. `next-cursor` is the last returned `seq`.
 */
export function takePage<T extends { seq: number }>(fetched: T[], limit: number): { rows: T[]; nextCursor: string | null } {
  if (fetched.length <= limit) return { rows: fetched, nextCursor: null };
  const rows = fetched.slice(0, limit);
  return { rows, nextCursor: String(rows[rows.length - 1].seq) };
}
