/**
 * `npm run register -- keys new <file>`: writes a fresh key file (mode 0600) and exits. It never
 * overwrites one. Start the register with `--keys-file <file>` to use it (docs/deploying.md).
 */
import { resolve } from 'node:path';
import { KeyFileExistsError, writeNewKeyFile } from './lib/keys.js';

const USAGE = 'Usage: npm run register -- keys new <file>';

/** Runs the command; returns the process exit code. */
export function runKeysCommand(argv: string[], out: NodeJS.WritableStream = process.stdout, err: NodeJS.WritableStream = process.stderr): number {
  if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h')) {
    out.write(`${USAGE}\n`);
    return 0;
  }
  if (argv[0] !== 'new' || argv.length !== 2 || argv[1].startsWith('-')) {
    err.write(`register: keys takes "new <file>"\n\n${USAGE}\n`);
    return 2;
  }
  const file = resolve(argv[1]);
  try {
    writeNewKeyFile(file);
  } catch (e) {
    if (e instanceof KeyFileExistsError) {
      err.write(`register: ${e.message}\n`);
      return 1;
    }
    err.write(`register: could not write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
    return 1;
  }
  out.write(`Wrote a new key file: ${file} (mode 0600).\nStart the register with --keys-file ${file}; back it up together with the database, and keep it as private.\n`);
  return 0;
}
