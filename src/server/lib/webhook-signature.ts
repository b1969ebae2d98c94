import { createHmac, randomBytes } from 'node:crypto';

/**
 * Webhook signing secrets and signatures.
 *
 * A signing secret is `whsec_` followed by the base64 encoding of 32 random bytes, as in
 * the Standard Webhooks specification. The HMAC key is those decoded bytes — for both
 * header styles:
 *
 *   key = Buffer.from(secret.slice('whsec_'.length), 'base64')
 *
 *   X-DAR-Signature:   sha256=<hex HMAC-SHA256(key, raw body)>
 *   webhook-signature: v1,<base64 HMAC-SHA256(key, "<webhook-id>.<webhook-timestamp>.<raw body>")>
 *
 * While a rotated-out secret is still honoured, each header carries one signature per
 * secret, newest first, separated by a single space.
 */
export const SECRET_PREFIX = 'whsec_';

export function newSigningSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

/** The HMAC key bytes of a `whsec_…` secret. */
export function signingKey(secret: string): Buffer {
  if (!secret.startsWith(SECRET_PREFIX)) throw new Error('not a whsec_ signing secret');
  return Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
}

export interface SignedHeaders {
  'x-dar-signature': string;
  'webhook-signature': string;
}

/** Both signature headers for `body`, one signature per secret (newest first). */
export function signatures(secrets: string[], body: string, eventId: string, timestampSeconds: number): SignedHeaders {
  const dar: string[] = [];
  const std: string[] = [];
  for (const secret of secrets) {
    const key = signingKey(secret);
    dar.push(`sha256=${createHmac('sha256', key).update(body, 'utf8').digest('hex')}`);
    std.push(`v1,${createHmac('sha256', key).update(`${eventId}.${timestampSeconds}.${body}`, 'utf8').digest('base64')}`);
  }
  return { 'x-dar-signature': dar.join(' '), 'webhook-signature': std.join(' ') };
}
