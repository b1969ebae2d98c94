import { createHmac, randomBytes } from 'node:crypto';

/**
 * Webhook signing secrets and signatures.
 *
 * A signing secret is `whsec_` followed by the base64 encoding of 32 random bytes, as in
 * the Standard Webhooks specification. The two header styles key their HMACs differently,
 * each by its own published convention (contract §9):
 *
 *   X-DAR-Signature:   sha256=<hex HMAC-SHA256(key = UTF-8 bytes of the whole "whsec_…" string, raw body)>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key = base64-decoded text after "whsec_",
 *                                             "<webhook-id>.<webhook-timestamp>.<raw body>")>
 *
 * The published receiver compares `X-DAR-Signature` for exact string equality, so it must
 * only ever hold one value. While a rotated-out secret is still honoured it stays under
 * that previous secret (a receiver not yet switched keeps working) and
 * `X-DAR-Signature-New` carries the new secret's. The Standard Webhooks header lists one
 * signature per secret, newest first, separated by a single space, as that specification
 * allows.
 */
export const SECRET_PREFIX = 'whsec_';

export function newSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

function assertSecret(secret: string): void {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('not a whsec_ signing secret');
}

/** The Standard Webhooks HMAC key of a `whsec_…` secret: the decoded bytes after the prefix. */
export function standardWebhooksKey(secret: string): Buffer {
  assertSecret(secret);
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

/** The `X-DAR-Signature` HMAC key: the secret string exactly as returned, as UTF-8. */
export function darSignatureKey(secret: string): Buffer {
  assertSecret(secret);
  return Buffer.from(secret, 'utf8');
}

/** `sha256=<hex>` over the raw body, as the published `X-DAR-Signature` check expects. */
export function darSignature(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', darSignatureKey(secret)).update(body, 'utf8').digest('hex')}`;
}

export interface SignedHeaders {
  'x-dar-signature': string;
  /** Only while a rotated-out secret is still honoured: the current secret's signature. */
  'x-dar-signature-new'?: string;
  'webhook-signature': string;
}

/**
 * The signature headers for `body`. `secrets` lists the current secret first, then (during
 * a rotation overlap) the previous one.
 */
export function signatures(secrets: string[], body: string, eventId: string, timestampSeconds: number): SignedHeaders {
  if (secrets.length === 0 || secrets.length > 2) throw new Error('expected the current signing secret and at most one previous one');
  const [current, previous] = secrets;
  const std = secrets.map((secret) => `v1,${createHmac('sha256', standardWebhooksKey(secret)).update(`${eventId}.${timestampSeconds}.${body}`, 'utf8').digest('base64')}`);
  const headers: SignedHeaders = { 'x-dar-signature': darSignature(previous ?? current, body), 'webhook-signature': std.join(' ') };
  if (previous !== undefined) headers['x-dar-signature-new'] = darSignature(current, body);
  return headers;
}
