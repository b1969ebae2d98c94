import { randomBytes } from 'node:crypto';

export type IdPrefix = 'ak' | 'ir' | 'duid' | 'wid' | 'mlr' | 'pks' | 'cred' | 'evt' | 'tid' | 'msg';

/** A public identifier: prefix + '_' + 24 random lowercase hex characters. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}

export const idPattern = (prefix: IdPrefix) => `^${prefix}_[0-9a-f]{24}$`;

/** A random URL-safe secret of `bytes` bytes of entropy. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
