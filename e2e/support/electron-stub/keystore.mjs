// Reads what the key-store stand-in (electron.mjs) wrote, as the operating system would.
import { createDecipheriv, createHash } from 'node:crypto';

export function decryptStub(buf, keyName = process.env.DAR_STUB_KEYSTORE_KEY ?? 'dar-electron-stub-key-store') {
  const key = createHash('sha256').update(keyName).digest();
  if (buf.subarray(0, 3).toString() !== 'v10') throw new Error('Not encrypted by the key-store stand-in');
  const decipher = createDecipheriv('aes-256-gcm', key, buf.subarray(3, 15));
  decipher.setAuthTag(buf.subarray(15, 31));
  return Buffer.concat([decipher.update(buf.subarray(31)), decipher.final()]).toString('utf8');
}
