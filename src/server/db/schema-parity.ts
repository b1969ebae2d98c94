/**
 * Compile-time parity between the two schemas: every table exists in both, and its row types
 * (what a select returns, what an insert takes) are identical on SQLite and PostgreSQL, so the
 * services can be written once. A drift fails `npm run typecheck` on the line naming the
 * table. The structure (columns, keys, indexes) is compared at run time by
 * test/schema-parity.test.ts.
 */
import type * as lite from './schema.js';
import type * as pg from './schema-pg.js';

/** True only when A and B are the same type (not merely assignable either way). */
type Equals<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
type Assert<T extends true> = T;

type Tables<S> = { [K in keyof S as S[K] extends { $inferSelect: unknown } ? K : never]: S[K] };
type LiteTables = Tables<typeof lite>;
type PgTables = Tables<typeof pg>;

/** Both schemas export the same tables under the same names. */
export type SameTables = Assert<Equals<keyof LiteTables, keyof PgTables>>;

type Select<S, K extends keyof S> = S[K] extends { $inferSelect: infer R } ? R : never;
type Insert<S, K extends keyof S> = S[K] extends { $inferInsert: infer R } ? R : never;

/** Each table's select and insert row types, keyed by table; every entry must be `true`. */
type Parity = {
  [K in keyof LiteTables & keyof PgTables]: [Equals<Select<LiteTables, K>, Select<PgTables, K>>, Equals<Insert<LiteTables, K>, Insert<PgTables, K>>];
};
type Drifted = { [K in keyof Parity]: Parity[K] extends [true, true] ? never : K }[keyof Parity];

/** A drift names its tables in the error: `Type '"passkeyCredentials"' does not satisfy the constraint 'never'`. */
type NoneDrifted<D extends never> = D;
export type RowTypesMatch = NoneDrifted<Drifted>;
