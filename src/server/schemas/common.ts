import { Type, type TSchema } from 'typebox';
import { EnvelopeSchema } from '../http/envelope.js';
import { idPattern, type IdPrefix } from '../lib/ids.js';
import { DATA_TYPES } from '../../shared/vocabulary.js';

/** MPAN/MPRN as published, plus 6–13 digit cores ([ours], contract §1). */
export const MPXN_PATTERN = '^(?:[0-9A-HJ-NPR-Z]{2}[0-9]{8,10}|[0-9]{6,13})$';
export const POSTCODE_PATTERN = '^[A-Z]{1,2}[0-9][0-9A-Z]? ?[0-9][A-Z]{2}$';
export const HTTP_URL_PATTERN = '^https?://[^\\s]+$';
/** ISO 8601 duration, e.g. P2Y, P6M, P1Y2M10DT2H30M. */
export const DURATION_PATTERN = '^P(?!$)(\\d+Y)?(\\d+M)?(\\d+W)?(\\d+D)?(T(?=\\d)(\\d+H)?(\\d+M)?(\\d+(\\.\\d+)?S)?)?$';

export const Mpxn = Type.String({ pattern: MPXN_PATTERN, description: 'MPAN or MPRN' });
export const Id = (prefix: IdPrefix) => Type.String({ pattern: idPattern(prefix) });
export const Text = (max = 200, min = 1) => Type.String({ minLength: min, maxLength: max });
export const HttpUrl = Type.String({ pattern: HTTP_URL_PATTERN, maxLength: 2000, format: 'uri' });
export const DateTime = Type.String({ format: 'date-time', maxLength: 40 });
export const DateOnly = Type.String({ format: 'date', maxLength: 10 });
export const Email = Type.String({ format: 'email', maxLength: 254 });
export const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
export { DATA_TYPES } from '../../shared/vocabulary.js';
export const DataType = Type.Enum([...DATA_TYPES]);
export const DataTypes = Type.Array(DataType, { minItems: 1, maxItems: DATA_TYPES.length, uniqueItems: true });

export const ROLES = ['data_user', 'data_provider', 'dcc', 'portal', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Wraps the body properties of a successful response with the envelope. */
export const Ok = <P extends Record<string, TSchema>>(props: P) => Type.Object({ response: EnvelopeSchema, ...props });

export const UKAddress = Type.Object(
  {
    addressLine1: Text(200),
    addressLine2: Type.Optional(Nullable(Text(200, 0))),
    townCity: Text(100),
    county: Type.Optional(Nullable(Text(100, 0))),
    postcode: Type.String({ pattern: POSTCODE_PATTERN }),
  },
  { additionalProperties: false },
);

/** `limit` + `cursor` paging shared by every list endpoint. */
export const PagingQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 200 })),
  cursor: Type.Optional(Type.String({ pattern: '^[0-9]{1,18}$', description: 'next-cursor from the previous page' })),
};
export const NextCursor = Nullable(Type.String());
