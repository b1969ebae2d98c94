/**
 * The one field of a one-value query (store.prepareValue): its name and how drizzle decodes
 * it. Both engines' stores use it, so a query that selects more or less than one field fails
 * the same way on either, when it is prepared.
 */
import { Column, is, SQL } from 'drizzle-orm';

/** Turns a driver value into the field's JavaScript value (drizzle's column and `sql` decoders). */
export interface FieldDecoder {
  mapFromDriverValue(value: unknown): unknown;
}

/**
 * @param query a drizzle select builder (`db.select({ one: … })…`)
 * @param name the prepared statement's name, for the error
 * @throws Error if `query` is not a select of exactly one column or `sql` expression
 */
export function onlyField(query: unknown, name: string): { key: string; decoder: FieldDecoder } {
  const fields = (query as { _?: { selectedFields?: Record<string, unknown> } })._?.selectedFields;
  const entries = fields ? Object.entries(fields) : [];
  if (entries.length === 1) {
    const [key, field] = entries[0];
    if (is(field, Column)) return { key, decoder: field as unknown as FieldDecoder };
    // An `sql` expression's decoder (set by `.mapWith`) is what drizzle's own row mapping reads;
    // its typings mark the property internal.
    if (is(field, SQL)) return { key, decoder: (field as unknown as { decoder: FieldDecoder }).decoder };
    if (is(field, SQL.Aliased)) return { key, decoder: (field.sql as unknown as { decoder: FieldDecoder }).decoder };
  }
  throw new Error(`prepareValue ${name}: the query must select exactly one column or sql expression`);
}
