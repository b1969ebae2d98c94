import { sql, type AnyColumn, type Placeholder, type SQL } from 'drizzle-orm';
import type { Dialect } from '../db/dialect.js';
import type * as schema from '../db/schema.js';

/**
 * Access records as the API returns them, written as JSON text by the database itself.
 *
 * Why (docs/performance.md): verification and the listings are the register's hottest reads. Reading
 * every column into JavaScript, parsing the stored body, rebuilding the record and then
 * serialising it again cost about as much as the rest of the request together. SQLite
 * writes the same document in C from the stored body (its `->` extraction, json_quote and
 * json_object), and the route passes the text through (see http/raw-json.ts). PostgreSQL
 * writes it with its own functions (json_build_object, to_json, `->` on json columns) through
 * the store's dialect (db/dialect.ts): the same keys in the same order. Its json_build_object
 * puts spaces after `:` and `,` in what it builds (DISCOVERED access), which is only
 * whitespace.
 *
 * This file is the one definition of the record's API form (contract §5): every read that
 * returns an AccessRecord or an AccessRecordSummary, in the API or in the console and
 * portal pages, uses these expressions. `now` is the ISO time that decides the effective
 * state, bound as a parameter. The expressions are built for one engine's tables and dialect
 * (`recordJsonOf`), inside the query that uses them.
 */

/** `lib/clock.ts` apiTime: a stored millisecond timestamp shown to the second, in SQL. */
export function apiTimeSql(col: AnyColumn): SQL {
  return sql`case when length(${col}) = 24 and substr(${col}, 24) = 'Z' then substr(${col}, 1, 19) || 'Z' else ${col} end`;
}

/** The record's API form in SQL, for one engine's tables (`store.tables`) and dialect. */
export function recordJsonOf(tables: typeof schema, d: Dialect) {
  const t = tables.accessRecords;
  const identityRecords = tables.identityRecords;

  /** The state a reader sees: an ACTIVE record past its expiry is EXPIRED even before a sweep. */
  function effectiveStateSql(now: SQL | Placeholder | string): SQL {
    return sql`case when ${t.state} = 'ACTIVE' and ${t.expiresAt} <= ${now} then 'EXPIRED' else ${t.state} end`;
  }

  /**
   * DiscoveredAccess (contract §5), or SQL NULL for a full record. first-seen and last-seen
   * are kept as canonical instants (for comparisons) and returned as dates, as published.
   * `supersededBy`: see summaryJsonSql. A JSON value (d.asText for its text).
   */
  const discoveredJsonOf = (supersededBy: SQL | AnyColumn) => sql`case when ${t.kind} = 'discovered' then ${d.jsonObject}(
  'mpxn', ${t.mpxn},
  'organisation-name', ${t.organisationName},
  'organisation-reference', ${t.organisationReference},
  'first-seen', substr(${t.firstSeen}, 1, 10),
  'last-seen', substr(${t.lastSeen}, 1, 10),
  'data-types-observed', ${d.json(t.dataTypes)},
  'source-reference', ${t.sourceReference},
  'superseded-by', ${supersededBy}) end`;

  /**
   * record-metadata of a full record: the stored section with the register-set fields put in
   * front. `identityRef` is the SQL for the ir it shows (see ownersIrSql and summaryJsonSql).
   *
   * Written by joining text rather than with json_set (docs/performance.md): json_set parses its input and
   * renders it again, which made it the larger part of a listed record's cost. The section's
   * text is kept in its own column (`record_metadata`, the text `body` holds for it): reading
   * it out of `body` with `->` made SQLite parse every listed record's whole body, about a fifth
   * of a listing's statement (docs/performance.md, "30 November, night: listings"). json_quote makes
   * each column a JSON value ('null' for NULL). The stored section is never empty (it always
   * has schema-version), so its text after `{` continues the object.
   */
  function recordMetadataJson(identityRef: SQL, ak: SQL | AnyColumn = t.ak): SQL {
    return d.joinAll([
      sql`'{"record-identifier":'`,
      d.jsonQuote(ak),
      sql`',"created-at":'`,
      d.jsonQuote(apiTimeSql(t.createdAt)),
      sql`',"identity-record-ref":'`,
      d.jsonQuote(identityRef),
      sql`','`,
      // The section without its opening `{` (an object's text has exactly one there). ltrim
      // looks at that one byte; substr(…, 2) counted the characters of the whole section.
      sql`ltrim(${t.recordMetadata}, '{')`,
    ]);
  }

  /**
   * The record's ir when the identity record is its owner's own, else SQL NULL. A record its
   * owner linked with its own `ir` shows it, as published; one linked through a
   * re-identification token to another Data User's identity record does not, since a Data
   * User never learns another's ir (contract §5, [ours]). One primary-key lookup.
   */
  const ownersIrSql = sql`(select ${identityRecords.ir} from ${identityRecords} where ${identityRecords.ir} = ${t.ir} and ${identityRecords.duid} = ${t.duid})`;

  /**
   * The full AccessRecord (GET /access-records/{ak}): register-set fields, no PII.
   * `revoked-at` is omitted, not null, until the record is revoked: the published schema
   * does not allow it to be null.
   */
  function recordJsonSql(now: Placeholder): SQL<string> {
    const state = effectiveStateSql(now);
    return sql<string>`case when ${t.kind} = 'discovered' then ${d.asText(sql`${d.jsonObject}(
      'record-metadata', ${d.jsonObject}('schema-version', '1.0', 'record-identifier', ${t.ak}, 'created-at', ${apiTimeSql(t.createdAt)},
        'controller-arrangement', null, 'identity-record-ref', null),
      'notice', null,
      'processing', null,
      'access-event', ${d.jsonObject}('state', ${state}, 'registered-at', null, 'expiry', null, 'consent', null),
      'discovered-access', ${discoveredJsonOf(sql`null`)})`)}
    else ${d.joinAll([
      sql`'{"record-metadata":'`,
      recordMetadataJson(ownersIrSql),
      sql`',"notice":'`,
      sql`coalesce(${d.jsonMember(t.body, 'notice')}, 'null')`,
      sql`',"processing":{"jurisdiction":"GB",'`,
      sql`substr(${d.jsonMember(t.body, 'processing')}, 2)`,
      sql`',"access-event":{"state":'`,
      d.jsonQuote(state),
      sql`case when ${t.revokedAt} is null then '' else ',"revoked-at":' || ${d.jsonQuote(apiTimeSql(t.revokedAt))} end`,
      sql`','`,
      sql`substr(${d.jsonMember(t.body, 'access-event')}, 2)`,
      sql`'}'`,
    ])} end`;
  }

  /**
   * AccessRecordSummary (contract §5), as listings return it. `identityRef` is the SQL for the
   * ir shown in record-metadata (`null` except in a Data User's own listing). Joined as text,
   * like record-metadata above.
   *
   * `viewerDuid`: the Data User the listing is for. Access keys are secrets **[ours]**: only the
   * viewer's own records show `ak` and `record-identifier`; a DISCOVERED row's `superseded-by`
   * shows only when the superseding record is the viewer's. A DISCOVERED row's own ak is shown,
   * as published: it is the DCC's, and its public verification (recordJsonSql) never names the
   * record that superseded it. Omitted: every key is shown (a portal acting for the customer,
   * operators).
   */
  function summaryJsonSql(now: Placeholder, identityRef: SQL = sql`null`, viewerDuid?: Placeholder): SQL<string> {
    const ak = viewerDuid ? sql`case when ${t.kind} = 'discovered' or ${t.duid} = ${viewerDuid} then ${t.ak} end` : t.ak;
    const supersededBy = viewerDuid ? sql`case when ${t.supersededBy} is not null and exists (select 1 from ${t} as mine where mine.ak = ${t.supersededBy} and mine.duid = ${viewerDuid}) then ${t.supersededBy} end` : t.supersededBy;
    return d.joinAll([
      sql`'{"ak":'`,
      d.jsonQuote(ak),
      sql`',"lead-controller-name":'`,
      sql`case when ${t.kind} = 'discovered' then 'null' else ${d.jsonQuote(t.leadControllerName)} end`,
      sql`',"arrangement-type":'`,
      d.jsonQuote(t.arrangementType),
      sql`',"controller-count":'`,
      sql`case when ${t.kind} = 'discovered' then 'null' else ${d.asText(sql`coalesce(${t.controllerCount}, 0)`)} end`,
      sql`',"record-metadata":'`,
      sql`case when ${t.kind} = 'discovered' then 'null' else ${recordMetadataJson(identityRef, ak)} end`,
      sql`',"legal-basis":'`,
      d.jsonQuote(t.legalBasis),
      sql`',"purpose":'`,
      d.jsonQuote(t.purpose),
      sql`',"data-types":'`,
      d.json(t.dataTypes),
      sql`',"state":'`,
      d.jsonQuote(effectiveStateSql(now)),
      sql`',"expiry":'`,
      d.jsonQuote(t.expiry),
      sql`',"discovered-access":'`,
      sql`coalesce(${d.asText(discoveredJsonOf(supersededBy))}, 'null')`,
      sql`'}'`,
    ]) as SQL<string>;
  }

  return {
    effectiveStateSql,
    /** DiscoveredAccess as JSON text, or SQL NULL for a full record (every key shown). */
    discoveredJson: d.asText(discoveredJsonOf(t.supersededBy)) as SQL<string | null>,
    ownersIrSql,
    recordJsonSql,
    summaryJsonSql,
  };
}
