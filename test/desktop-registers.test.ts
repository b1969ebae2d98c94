/**
 * The desktop app's register choice and credential store (src/main/registers.ts), with a key
 * store that really encrypts (AES-256-GCM). Signing in to a second register process is covered
 * end to end in e2e/desktop-remote.spec.ts.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DesktopRegisters, normaliseRegisterUrl, type KeyStore } from '../src/main/registers';

function aesKeyStore(available = true): KeyStore & { key: Buffer } {
  const key = randomBytes(32);
  return {
    key,
    isEncryptionAvailable: () => available,
    encryptString(text) {
      const iv = randomBytes(12);
      const c = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([c.update(text, 'utf8'), c.final()]);
      return Buffer.concat([iv, c.getAuthTag(), body]);
    },
    decryptString(buf) {
      const d = createDecipheriv('aes-256-gcm', key, buf.subarray(0, 12));
      d.setAuthTag(buf.subarray(12, 28));
      return Buffer.concat([d.update(buf.subarray(28)), d.final()]).toString('utf8');
    },
  };
}

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'dar-desktop-registers-'));
  dirs.push(d);
  return d;
}

describe('normaliseRegisterUrl', () => {
  it('keeps the origin of an https address, and http only for this computer', () => {
    expect(normaliseRegisterUrl(' https://dar.example.org/console/#/records ')).toBe('https://dar.example.org');
    expect(normaliseRegisterUrl('http://localhost:5002/')).toBe('http://localhost:5002');
    expect(normaliseRegisterUrl('http://127.0.0.1:5002')).toBe('http://127.0.0.1:5002');
  });
  it('refuses plain http elsewhere, other schemes, credentials in the address and non-addresses', () => {
    expect(() => normaliseRegisterUrl('http://dar.example.org')).toThrow(/https:\/\//);
    expect(() => normaliseRegisterUrl('file:///etc/passwd')).toThrow(/https:\/\//);
    expect(() => normaliseRegisterUrl('https://admin:secret@dar.example.org')).toThrow(/account id or secret/);
    expect(() => normaliseRegisterUrl('dar.example.org')).toThrow(/address/);
  });
});

describe('DesktopRegisters', () => {
  it('keeps the choice in plain settings and the credentials only encrypted; a new instance reads both back', () => {
    const dir = tempDir();
    const keys = aesKeyStore();
    const regs = new DesktopRegisters(dir, keys);
    expect(regs.choice()).toEqual({ kind: 'local' });
    regs.saveCredentials('https://dar.example.org', { accountId: 'ops_anna', secret: 'very-secret-value-123' });
    regs.choose({ kind: 'remote', url: 'https://dar.example.org' });
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes('very-secret-value-123')).toBe(false);
      expect(bytes.includes('ops_anna')).toBe(false);
    }
    const again = new DesktopRegisters(dir, keys);
    expect(again.choice()).toEqual({ kind: 'remote', url: 'https://dar.example.org' });
    expect(again.remotes()).toEqual(['https://dar.example.org']);
    expect(again.credentials('https://dar.example.org')).toEqual({ accountId: 'ops_anna', secret: 'very-secret-value-123' });
    // Another key store (another machine, a reset) cannot read them: the operator signs in again.
    expect(new DesktopRegisters(dir, aesKeyStore()).credentials('https://dar.example.org')).toBeNull();
    again.forget('https://dar.example.org');
    expect(again.choice()).toEqual({ kind: 'local' });
    expect(new DesktopRegisters(dir, keys).credentials('https://dar.example.org')).toBeNull();
  });

  it('without a key store writes no credentials at all and keeps them for this run only', () => {
    const dir = tempDir();
    const regs = new DesktopRegisters(dir, aesKeyStore(false));
    regs.saveCredentials('https://dar.example.org', { accountId: 'ops_anna', secret: 's3cret-s3cret' });
    expect(regs.credentials('https://dar.example.org')?.secret).toBe('s3cret-s3cret');
    expect(readdirSync(dir)).toEqual([]);
    expect(new DesktopRegisters(dir, aesKeyStore(false)).credentials('https://dar.example.org')).toBeNull();
  });

  it('a damaged settings file falls back to the local sandbox', async () => {
    const dir = tempDir();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(dir, 'desktop-settings.json'), '{not json');
    expect(new DesktopRegisters(dir, aesKeyStore()).choice()).toEqual({ kind: 'local' });
  });
});
