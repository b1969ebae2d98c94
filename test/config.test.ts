import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseArgs, UsageError, usage, type RegisterConfig } from '../src/server/config.js';

/** The register's flag parsing, in-process: `npm run register -- <argv>` with no environment. */
const parse = (argv: string[], env: NodeJS.ProcessEnv = {}) => parseArgs(argv, env, false) as RegisterConfig;
const refuses = (argv: string[], message: string | RegExp) => expect(() => parseArgs(argv, {}, false)).toThrow(message);

describe('register flags', () => {
  it('defaults: port 5001 on 127.0.0.1, ./data, sandbox, no seed, info', () => {
    const c = parse([]);
    expect(c).toMatchObject({ port: 5001, host: '127.0.0.1', dataDir: resolve('data'), mode: 'sandbox', seed: null, origin: null, logLevel: 'info', trustProxy: [] });
  });

  it('takes `--flag value` and `--flag=value`', () => {
    const c = parse(['--port', '0', '--host=0.0.0.0', '--data', 'data/demo', '--seed=demo', '--log-level', 'warn', '--rp-name', 'Test RP', '--mail-from=a@b.example']);
    expect(c).toMatchObject({ port: 0, host: '0.0.0.0', dataDir: resolve('data/demo'), seed: 'demo', logLevel: 'warn', rpName: 'Test RP', mailFrom: 'a@b.example' });
  });

  it('--help', () => {
    expect(parseArgs(['--help'], {}, false)).toBe('help');
    expect(parseArgs(['-h'], {}, false)).toBe('help');
    expect(usage()).toContain('--log-format pretty|json');
  });

  it('--keys-file names the key file to use instead of <data>/register.keys.json; keys new is in the usage', () => {
    expect(parse([]).keysFile).toBeNull();
    expect(parse(['--keys-file', 'keys/cluster.json', '--data', 'd']).keysFile).toBe(resolve('keys/cluster.json'));
    expect(parse(['--keys-file=/etc/dar/keys.json']).keysFile).toBe('/etc/dar/keys.json');
    refuses(['--keys-file'], '--keys-file needs a value');
    refuses(['--keys-file='], '--keys-file needs a value');
    expect(usage()).toContain('keys new <file>');
  });

  it('refuses unknown flags and missing values', () => {
    refuses(['--prot', '5001'], 'unknown option "--prot"');
    refuses(['--port'], '--port needs a value');
    refuses(['--data='], '--data needs a value');
  });

  it('--port is a number from 0 to 65535', () => {
    refuses(['--port', 'eleven'], '--port must be a number from 0 to 65535, got "eleven"');
    refuses(['--port', '65536'], /--port must be/);
    refuses(['--port', '-1'], /--port must be/);
    expect(parse(['--port', '65535']).port).toBe(65535);
  });

  it('--seed takes only demo; --mode only sandbox or production', () => {
    refuses(['--seed', 'big'], '--seed accepts only "demo", got "big"');
    refuses(['--mode', 'staging'], '--mode must be sandbox or production, got "staging"');
  });

  it('production needs an https --origin, and --origin is an origin only', () => {
    refuses(['--mode', 'production'], /--origin/);
    refuses(['--mode', 'production', '--origin', 'http://dar.example.org'], 'needs an https:// --origin');
    refuses(['--origin', 'not a url'], '--origin must be a URL');
    refuses(['--origin', 'https://dar.example.org/path'], '--origin must be an origin only');
    expect(parse(['--mode', 'production', '--origin', 'https://dar.example.org/']).origin).toBe('https://dar.example.org');
  });

  it('--smtp is an smtp:// or smtps:// URL', () => {
    refuses(['--smtp', 'http://mail.example'], '--smtp must be an smtp:// or smtps:// URL');
    expect(parse(['--smtp', 'smtp://127.0.0.1:2525']).smtpUrl).toBe('smtp://127.0.0.1:2525');
  });

  it('--trust-proxy takes addresses and CIDR ranges, never everyone', () => {
    expect(parse(['--trust-proxy', '10.0.0.1, 192.168.0.0/16,fd00::/8']).trustProxy).toEqual(['10.0.0.1', '192.168.0.0/16', 'fd00::/8']);
    refuses(['--trust-proxy', 'true'], 'takes IP addresses or CIDR ranges, got "true"');
    refuses(['--trust-proxy', '10.0.0.0/33'], /CIDR/);
    refuses(['--trust-proxy', '0.0.0.0/0'], 'would trust every client');
    refuses(['--trust-proxy', ','], 'needs at least one address');
  });

  it('environment: DAR_DATA_DIR and DAR_TRUST_PROXY, overridden by flags', () => {
    expect(parse([], { DAR_DATA_DIR: '/tmp/dar-x', DAR_TRUST_PROXY: '10.0.0.1' })).toMatchObject({ dataDir: '/tmp/dar-x', trustProxy: ['10.0.0.1'] });
    expect(parse(['--data', '/tmp/dar-y'], { DAR_DATA_DIR: '/tmp/dar-x' }).dataDir).toBe('/tmp/dar-y');
    expect(() => parseArgs([], { DAR_TRUST_PROXY: 'everyone' }, false)).toThrow(UsageError);
  });
});
