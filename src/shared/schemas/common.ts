import { Type, type TSchema } from 'typebox';
import { DATA_TYPES } from '../vocabulary.js';
import { idPattern, MPXN_PATTERN, POSTCODE_PATTERN, type IdPrefix } from '../values.js';

/*
 * The API's building blocks, shared by the register (validation, OpenAPI) and the console
 * (its response types are `Static<…>` of these schemas). Browser-safe: typebox only.
 */
export const HTTP_URL_PATTERN = '^https?://[^\\s]+$';
/** ISO 8601 duration, e.g. P2Y, P6M, P1Y2M10DT2H30M. */
export const DURATION_PATTERN = '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?)?$';

/*
 * Values with one canonical form carry `x-canonical` (an OpenAPI extension): the register
 * rewrites them to that form before validating (lib/values.ts), and stores and returns
 * only that form. The `pattern` / `format` shown in the OpenAPI document is the canonical one.
 */
export const Mpxn = Type.String({
  pattern: MPXN_PATTERN,
  maxLength: 40,
  'x-canonical': 'mpxn',
  description: 'MPAN or MPRN. Spaces and hyphens are ignored; a 21-digit full MPAN (the bill\'s "S" box, optionally with its leading S) is reduced to its 13-digit core. Production: an MPAN core must carry a valid check digit.',
});
export const Id = (prefix: IdPrefix) => Type.String({ pattern: idPattern(prefix) });
export const Text = (max = 200, min = 1) => Type.String({ minLength: min, maxLength: max });
export const HttpUrl = Type.String({ pattern: HTTP_URL_PATTERN, maxLength: 2000, format: 'uri' });
/** Any RFC 3339 date-time with an offset; stored and returned as `YYYY-MM-DDTHH:MM:SSZ`. */
export const DateTime = Type.String({ format: 'date-time', maxLength: 40, 'x-canonical': 'date-time' });
/** A date-time, or a date meaning 00:00:00Z of that day; stored and returned as a date-time. */
export const DateTimeOrDate = Type.String({
  format: 'date-time',
  maxLength: 40,
  'x-canonical': 'date-time-or-date',
  description: 'date-time (any offset; returned in UTC as YYYY-MM-DDTHH:MM:SSZ), or a date YYYY-MM-DD meaning 00:00:00Z of that day',
});
export const DateOnly = Type.String({ format: 'date', maxLength: 12, 'x-canonical': 'date' });
/** An e-mail address; an internationalised domain is kept in its ASCII (punycode) form. */
export const Email = Type.String({ format: 'email', maxLength: 254, 'x-canonical': 'email' });
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/**
 * A string from one of the fixed vocabularies (src/shared/vocabulary.ts), typed as their
 * union: `type: string` with `enum`, so OpenAPI readers see a string and answers serialise on
 * the string path. Used for what the register sends; request bodies keep Type.Enum.
 */
export const StringEnum = <const T extends readonly string[]>(values: T, options: { description?: string } = {}) => Type.Unsafe<T[number]>({ type: 'string', enum: [...values], ...options } as TSchema);
export const DataType = Type.Enum([...DATA_TYPES]);
export const DataTypes = Type.Array(DataType, { minItems: 1, maxItems: DATA_TYPES.length, uniqueItems: true });

/** The `response` block every JSON body carries (contract §1). */
export const EnvelopeSchema = Type.Object({
  resource: Type.String(),
  timestamp: Type.String(),
  'transaction-id': Type.String(),
});

/** The error envelope (contract §1): every 4xx and 5xx. */
export const ErrorBodySchema = Type.Object({
  response: EnvelopeSchema,
  errors: Type.Array(Type.Object({ 'error-code': Type.String(), message: Type.String() })),
});

/** Wraps the body properties of a successful response with the envelope. */
export const Ok = <P extends Record<string, TSchema>>(props: P) => Type.Object({ response: EnvelopeSchema, ...props });

export const UKAddress = Type.Object(
  {
    addressLine1: Text(200),
    addressLine2: Type.Optional(Nullable(Text(200, 0))),
    townCity: Text(100),
    county: Type.Optional(Nullable(Text(100, 0))),
    postcode: Type.String({ pattern: POSTCODE_PATTERN, maxLength: 16, 'x-canonical': 'postcode', description: 'Stored upper-case with one space before the inward code (sw1a1aa → SW1A 1AA)' }),
  },
  { additionalProperties: false },
);

/** `limit` + `cursor` paging shared by every list endpoint. */
export const PagingQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 200 })),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'next-cursor from the previous page' })),
};
export const NextCursor = Nullable(Type.String());
/** The paging fields of a list's answer: how many match in all, and the cursor to the next page. */
export const ListPage = Type.Object({ total: Type.Integer(), 'next-cursor': NextCursor });

/**
 * Paging for the admin ([ours]) lists that sort (docs/api.md "Admin lists"): `cursor` is the
 * plain seq cursor for the default order, or the opaque next-cursor of a chosen sort;
 * `offset` jumps to a row (e.g. row 2,000) instead of following cursors.
 */
export const AdminPagingQuery = {
  limit: PagingQuery.limit,
  cursor: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,400}$', description: 'next-cursor from the previous page (same filters and sort)' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000_000, description: 'rows to skip (jump to a row); not with cursor' })),
  order: Type.Optional(Type.Enum(['asc', 'desc'], { description: 'sort direction (default: newest first; other sorts ascending)' })),
};
