import { inArray, sql } from 'drizzle-orm';
import { Type, type TArray, type TSchema } from 'typebox';
import type { Db } from '../../../db/open.js';
import type { Store } from '../../../db/store.js';
import { DATE_OR_DATE_TIME_PATTERN } from '../../../lib/listing.js';
import { ListPage, Ok } from '../../../../shared/schemas/common.js';

/*
 * What the admin lists ([ours], docs/api.md "Admin lists") share: their answer's shape, their
 * date-range filters, and the Data User names they show instead of DUIDs.
 */

/** A list's answer: one page of `key`, how many match in all, and the cursor to the next page. */
export function adminListResponse<K extends string, T extends TSchema>(key: K, item: T) {
  return Ok({ [key]: Type.Array(item), ...ListPage.properties } as { [P in K]: TArray<T> } & (typeof ListPage)['properties']);
}

/** A date (YYYY-MM-DD) or RFC 3339 date-time query parameter of the admin lists. */
export const DateQuery = (what: string) => Type.String({ pattern: DATE_OR_DATE_TIME_PATTERN, maxLength: 40, description: what });

/**
 * The display name of the Data User behind each of `rows` (one query for them all), so lists
 * and exports show names, not DUIDs: call once per page or export chunk. Pass `reg.store`.
 * (A bare `reg.db`, which carries no table objects, is read by column name, the same on both
 * engines, for callers not yet passing the store.)
 */
export async function dataUserNameOf<R>(store: Pick<Store, 'db' | 'tables'> | Db, rows: readonly R[], duidOf: (row: R) => string | null): Promise<(row: R) => string | null> {
  const wanted = [...new Set(rows.map(duidOf).filter((d): d is string => !!d))];
  const names = new Map(wanted.length ? (await namesOf(store, wanted)).map((a) => [a.duid, a.name]) : []);
  return (row) => {
    const duid = duidOf(row);
    return duid ? (names.get(duid) ?? null) : null;
  };
}

function namesOf(store: Pick<Store, 'db' | 'tables'> | Db, duids: string[]): Promise<{ duid: string; name: string }[]> {
  if ('tables' in store) {
    const { accounts } = store.tables;
    return store.db.select({ duid: accounts.duid, name: accounts.displayName }).from(accounts).where(inArray(accounts.duid, duids));
  }
  return store
    .select({ duid: sql<string>`duid`, name: sql<string>`display_name` })
    .from(sql`accounts`)
    .where(inArray(sql`duid`, duids));
}
