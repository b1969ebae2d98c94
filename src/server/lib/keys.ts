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

function keyFileContent(keys: RegisterKeys): string {
  const content: KeyFile = {
    version: 1,
    'jwt-secret': keys.jwtSecret.toString('base64'),
    'email-hmac-key': keys.emailHmacKey.toString('base64'),
    'encryption-key': keys.encryptionKey.toString('base64'),
    'signing-key': keys.signingKey.toString('base64'),
  };
  return JSON.stringify(content, null, 2) + '\n';
}

export class KeyFileExistsError extends Error {}

/**
 * Writes a key file of fresh random keys, mode 0600 whatever the umask. Never overwrites: a key
 * file replaced is data lost (encrypted fields, e-mail hashes, the audit chain).
 */
export function writeNewKeyFile(file: string): RegisterKeys {
  const keys = generateKeys();
  try {
    writeFileSync(file, keyFileContent(keys), { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new KeyFileExistsError(`${file} already exists; a key file is never overwritten (its keys read the data written with them)`);
    throw err;
  }
  chmodSync(file, 0o600);
  return keys;
}

/** Loads an existing key file (mode tightened to 0600). */
export function loadKeys(file: string): RegisterKeys {
  // A key file copied in or left readable by others is tightened, like the database files.
  chmodSync(file, 0o600);
  let parsed: KeyFile;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8')) as KeyFile;
  } catch (err) {
    if (!(err instanceof SyntaxError)) throw err;
    // Not the parser's message, nor the error as cause: it quotes the start of the file, which may be a key.
    // eslint-disable-next-line preserve-caught-error
    throw new Error(`key file ${file} is not valid JSON (write one with: npm run register -- keys new <file>)`);
  }
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

/** Loads the key file, creating it (mode 0600) on first start. */
export function loadOrCreateKeys(file: string): RegisterKeys {
  return existsSync(file) ? loadKeys(file) : writeNewKeyFile(file);
}
