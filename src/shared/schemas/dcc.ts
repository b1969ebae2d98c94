import { Type } from 'typebox';
import { DataTypes, DateOnly, DateTimeOrDate, Mpxn, Nullable, Text } from './common.js';
import { ORG_REF_PATTERN } from '../values.js';

export const DiscoveredAccessBody = Type.Object(
  {
    mpxn: Mpxn,
    'organisation-name': Text(200),
    'organisation-reference': Type.String({ pattern: ORG_REF_PATTERN }),
    'first-seen': DateTimeOrDate,
    'last-seen': Type.Optional(Nullable(DateTimeOrDate)),
    'data-types-observed': DataTypes,
    'source-reference': Text(200),
  },
  { additionalProperties: false },
);

export const CotEventBody = Type.Object({ mpxn: Mpxn, 'effective-date': DateOnly, 'source-reference': Text(200) }, { additionalProperties: false });
