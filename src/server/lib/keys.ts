import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';

/** The register's secrets. They live in a key file beside (never inside) the database. */
export interface RegisterKeys {
  /** HS256 key for bearer tokens. */
  jwtSecret: Buffer;
  /** HMAC key for e-mail lookup hashes. */
  emailHmacKey: Buffer;
  /** AES-256-GCM key for the e-mail copy and webhook signing secrets. */
  encryptionKey: Buffer;
  /** HMAC key for the audit chain and CSRF tokens. */
  signingKey: Buffer;
}

interface KeyFile {
  version: 1;
  'jwt-secret': string;
  'email-hmac-key': string;
  'encryption-key': string;
  'signing-key': string;
}

export function generateKeys(): RegisterKeys {
  return {
    jwtSecret: randomBytes(32),
    emailHmacKey: randomBytes(32),
    encryptionKey: randomBytes(32),
    signingKey: randomBytes(32),
  };
}

/** Loads the key file, creating it (mode 0600) on first start. */
export function loadOrCreateKeys(file: string): RegisterKeys {
  if (!existsSync(file)) {
    const keys = generateKeys();
    const content: KeyFile = {
      version: 1,
      'jwt-secret': keys.jwtSecret.toString('base64'),
      'email-hmac-key': keys.emailHmacKey.toString('base64'),
      'encryption-key': keys.encryptionKey.toString('base64'),
      'signing-key': keys.signingKey.toString('base64'),
    };
    writeFileSync(file, JSON.stringify(content, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
    chmodSync(file, 0o600);
    return keys;
  }
  // A key file copied in or left readable by others is tightened, like the database files.
  chmodSync(file, 0o600);
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
  const field = (name: keyof KeyFile) => {
    const value = parsed[name];
    if (typeof value !== 'string') throw new Error(`key file ${file} is missing "${name}"`);
    const buf = Buffer.from(value, 'base64');
    if (buf.length !== 32) throw new Error(`key file ${file}: "${name}" must be 32 bytes`);
    return buf;
  };
  return {
    jwtSecret: field('jwt-secret'),
    emailHmacKey: field('email-hmac-key'),
    encryptionKey: field('encryption-key'),
    signingKey: field('signing-key'),
  };
}
