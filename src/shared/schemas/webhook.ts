import { Type, type Static } from 'typebox';
import { DELIVERY_STATUSES, TEST_EVENT_TYPES, WEBHOOK_EVENT_TYPES } from '../vocabulary.js';
import { Email, Id, Nullable, StringEnum } from './common.js';

const CallbackUrl = Type.String({ minLength: 1, maxLength: 2000, description: 'https URL (sandbox: http also for localhost, 127.0.0.0/8, [::1])' });
const NotifyDays = Type.Integer({ minimum: 1, maximum: 90, description: 'consent.expiring fires this many days before expiry' });
const EventTypes = Type.Array(Type.Enum([...WEBHOOK_EVENT_TYPES]), { minItems: 1, maxItems: WEBHOOK_EVENT_TYPES.length, uniqueItems: true });

export const WebhookSubscription = Type.Object({
  wid: Type.String(),
  'callback-url': Type.String(),
  'alert-email': Type.String(),
  'notify-days-before': Type.Integer(),
  'event-types': Type.Array(StringEnum(WEBHOOK_EVENT_TYPES)),
  'created-at': Type.String(),
  active: Type.Boolean(),
});
export type WebhookSubscription = Static<typeof WebhookSubscription>;

export const AdminWebhookSubscription = Type.Object({ ...WebhookSubscription.properties, duid: Type.String() });

export const CreateWebhookBody = Type.Object(
  {
    'callback-url': CallbackUrl,
    'alert-email': Email,
    'notify-days-before': Type.Optional(NotifyDays),
    'event-types': Type.Optional(EventTypes),
  },
  { additionalProperties: false },
);
export type CreateWebhookBody = Static<typeof CreateWebhookBody>;

export const UpdateWebhookBody = Type.Object(
  {
    'callback-url': Type.Optional(CallbackUrl),
    'alert-email': Type.Optional(Email),
    'notify-days-before': Type.Optional(NotifyDays),
    'event-types': Type.Optional(EventTypes),
    active: Type.Optional(Type.Boolean({ description: 'false pauses deliveries (they stay queued); true resumes' })),
    'rotate-secret': Type.Optional(Type.Boolean({ description: 'true issues a new signing secret; the old one is also used for 15 minutes' })),
  },
  { additionalProperties: false },
);
export type UpdateWebhookBody = Static<typeof UpdateWebhookBody>;

export const WidParams = Type.Object({ wid: Id('wid') });

export const AttemptLogEntry = Type.Object({
  attempt: Type.Integer(),
  at: Type.String(),
  'status-code': Nullable(Type.Integer()),
  'duration-ms': Type.Integer(),
  error: Nullable(Type.String()),
  'request-headers': Nullable(
    Type.Record(Type.String(), Type.String(), { description: 'The request headers as sent (signatures included, never the signing secret); null for attempts recorded before inspection existed, or refused before sending' }),
  ),
  'response-headers': Nullable(Type.Record(Type.String(), Type.String(), { description: "The receiver's response headers; null when no response came" })),
  'response-body': Nullable(Type.String({ description: 'The first 4 KiB of the response body (UTF-8); null when no response came' })),
});

export const Delivery = Type.Object({
  'event-id': Type.String(),
  wid: Type.String(),
  duid: Type.String(),
  'event-type': StringEnum(WEBHOOK_EVENT_TYPES),
  status: StringEnum(DELIVERY_STATUSES),
  attempts: Type.Integer(),
  'next-attempt-at': Nullable(Type.String()),
  'last-status-code': Nullable(Type.Integer()),
  'last-error': Nullable(Type.String()),
  'occurred-at': Type.String(),
  'delivered-at': Nullable(Type.String()),
  payload: Type.Record(Type.String(), Type.Unknown()),
  'attempt-log': Type.Array(AttemptLogEntry),
});

export const TestEventBody = Type.Object({ 'event-type': Type.Optional(Type.Enum([...TEST_EVENT_TYPES], { description: 'Default webhook.test' })) }, { additionalProperties: false });

export const TestEventResult = Type.Object({
  'event-id': Type.String(),
  'event-type': Type.Enum([...TEST_EVENT_TYPES]),
  payload: Type.Record(Type.String(), Type.Unknown(), { description: 'The sample payload sent' }),
  delivered: Type.Boolean(),
  'status-code': Nullable(Type.Integer()),
  'duration-ms': Type.Integer(),
  error: Nullable(Type.String()),
  'request-headers': Nullable(Type.Record(Type.String(), Type.String())),
  'response-headers': Nullable(Type.Record(Type.String(), Type.String())),
  'response-body': Nullable(Type.String({ description: 'The first 4 KiB of the response body' })),
});

export const SigningSecret = Type.String({
  pattern: '^whsec_[A-Za-z0-9+/]+={0,2}$',
  description:
    'Returned once. X-DAR-Signature: sha256=<hex HMAC-SHA256 over the raw body> keyed with this string exactly as returned (UTF-8, not decoded). webhook-signature (Standard Webhooks): keyed with the base64-decoded part after whsec_.',
});
