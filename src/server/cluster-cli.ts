/**
 * `npm run cluster -- --db <postgres://…> [--nodes 3] [--port 5001] [--seed demo] [--keys-file <file>]`
 *
 * A development tool for trying the register as several nodes on one PostgreSQL database
 * (docs/deploying.md "Trying a cluster locally"): it starts `--nodes` registers on the ports after
 * `--port`, and a small round-robin proxy on `--port` in front of them. A production deployment
 * puts its own load balancer there instead.
 *
 * - The database must be migrated first (`npm run register -- migrate --db <url>`).
 * - Every node uses the same key file: `--keys-file`, or a new one written to a temporary folder.
 * - `--seed demo` is given to the first node only; the others start once it answers.
 * - The proxy sends each request to the next node; a node that refuses the connection is skipped
 *   (the request never reached it), and with none left it answers 503 in the API's error envelope.
 * - Ctrl-C (or SIGTERM) stops the proxy and every node.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PROJECT_ROOT } from './config.js';
import { writeNewKeyFile } from './lib/keys.js';

const USAGE = `Usage: npm run cluster -- --db <postgres://…> [--nodes 3] [--port 5001] [--seed demo] [--keys-file <file>]

  Starts <nodes> registers on ports <port>+1 … <port>+<nodes>, and a round-robin proxy on <port>.
  A development tool: production puts its own load balancer in front of the nodes.`;

export interface ClusterOptions {
  db: string;
  nodes: number;
  port: number;
  seed: 'demo' | null;
  keysFile: string | null;
  /** Extra flags for every node (tests: --log-level silent, --smtp …). */
  nodeArgs: string[];
}

class UsageError extends Error {}

export function parseClusterArgs(argv: string[]): ClusterOptions | 'help' {
  const o: ClusterOptions = { db: '', nodes: 3, port: 5001, seed: null, keysFile: null, nodeArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split('=', 2);
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--db':
        o.db = value();
        break;
      case '--nodes':
        o.nodes = Number(value());
        if (!Number.isInteger(o.nodes) || o.nodes < 1 || o.nodes > 16) throw new UsageError('--nodes takes a whole number from 1 to 16');
        break;
      case '--port':
        o.port = Number(value());
        if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535 - 16) throw new UsageError('--port takes a port number');
        break;
      case '--seed':
        if (value() !== 'demo') throw new UsageError('--seed takes "demo"');
        o.seed = 'demo';
        break;
      case '--keys-file':
        o.keysFile = resolve(value());
        break;
      case '--':
        o.nodeArgs = argv.slice(i + 1);
        i = argv.length;
        break;
      default:
        throw new UsageError(`unknown option ${flag}`);
    }
  }
  if (!/^postgres(ql)?:\/\//.test(o.db)) throw new UsageError('--db <postgres://…> is required (migrate it first: npm run register -- migrate --db <url>)');
  return o;
}

export interface RunningCluster {
  url: string;
  nodes: { port: number; process: ChildProcess }[];
  /** Stops one node (SIGKILL: as a crash) or starts it again, for failure tests. */
  kill(index: number): void;
  restart(index: number): Promise<void>;
  /** Stops the proxy and every node; removes the key file if the cluster made it. */
  stop(): Promise<void>;
  /** The key file every node uses: `keysFile` as given, or one made in a temporary folder. */
  keysFile: string;
}

async function answers(url: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const res = await fetch(`${url}/ready`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`${url} did not become ready`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Starts the nodes and the proxy; resolves once every node answers /ready. */
export async function startCluster(o: ClusterOptions, log: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<RunningCluster> {
  const keysFile = o.keysFile ?? join(mkdtempSync(join(tmpdir(), 'dar-cluster-')), 'register.keys.json');
  if (!o.keysFile) writeNewKeyFile(keysFile);
  // A key file made here holds secrets for this run only: it goes when the cluster stops or
  // fails to start, rather than staying in the temporary folder (docs/deploying.md).
  const removeOwnKeys = () => {
    if (!o.keysFile) rmSync(dirname(keysFile), { recursive: true, force: true });
  };
  const origin = `http://localhost:${o.port}`;
  const nodes: { port: number; process: ChildProcess }[] = [];
  // A start that fails stops the nodes already started and leaves nothing behind.
  const abandon = () => {
    for (const n of nodes) if (n && n.process.exitCode === null && n.process.signalCode === null) n.process.kill('SIGKILL');
    removeOwnKeys();
  };
  const spawnNode = (index: number) => {
    const port = o.port + 1 + index;
    // The proxy is the only client the nodes see: they believe its X-Forwarded-For (sign-in
    // throttling keys on the customer's address), and links in e-mail name the proxy's origin.
    const args = [
      '--import',
      'tsx',
      join(PROJECT_ROOT, 'src/server/cli.ts'),
      '--db',
      o.db,
      '--keys-file',
      keysFile,
      '--port',
      String(port),
      '--origin',
      origin,
      '--trust-proxy',
      '127.0.0.1',
      ...(index === 0 && o.seed ? ['--seed', o.seed] : []),
      ...o.nodeArgs,
    ];
    const child = spawn(process.execPath, args, { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const prefix = `[node ${index + 1}] `;
    const forward = (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) log(prefix + line);
    };
    child.stdout!.on('data', forward);
    child.stderr!.on('data', forward);
    nodes[index] = { port, process: child };
  };
  try {
    spawnNode(0);
    await answers(`http://127.0.0.1:${o.port + 1}`, Date.now() + 60_000);
    for (let i = 1; i < o.nodes; i++) spawnNode(i);
    await Promise.all(nodes.slice(1).map((n) => answers(`http://127.0.0.1:${n.port}`, Date.now() + 60_000)));
  } catch (err) {
    // A node that never became ready.
    abandon();
    throw err;
  }

  let next = 0;
  const proxy = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const payload = Buffer.concat(body);
      const tryNode = (tries: number) => {
        if (tries >= nodes.length) {
          res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '1' });
          const resource = (req.url ?? '/').split('?')[0];
          res.end(
            JSON.stringify({
              response: { resource, timestamp: `${new Date().toISOString().slice(0, 19)}Z`, 'transaction-id': `proxy-${Date.now()}` },
              errors: [{ 'error-code': 'SRV001', message: 'No register node answered (the development proxy of npm run cluster)' }],
            }),
          );
          return;
        }
        const node = nodes[next++ % nodes.length];
        const forwardedFor = [req.headers['x-forwarded-for'], req.socket.remoteAddress].filter(Boolean).join(', ');
        const upstream = http.request({ host: '127.0.0.1', port: node.port, method: req.method, path: req.url, headers: { ...req.headers, 'x-forwarded-for': forwardedFor } }, (up) => {
          res.writeHead(up.statusCode ?? 502, up.headers);
          up.pipe(res);
        });
        upstream.on('error', (err: NodeJS.ErrnoException) => {
          // Refused: the node is down and never saw the request, so another may take it.
          if (err.code === 'ECONNREFUSED' && !res.headersSent) tryNode(tries + 1);
          else res.destroy(err);
        });
        upstream.end(payload);
      };
      tryNode(0);
    });
  });
  try {
    await new Promise<void>((resolveListen, reject) => {
      proxy.once('error', reject);
      proxy.listen(o.port, '127.0.0.1', () => resolveListen());
    });
  } catch (err) {
    // The proxy's port is taken.
    abandon();
    throw err;
  }
  log(`cluster: ${o.nodes} node(s) on ports ${o.port + 1}–${o.port + o.nodes}, proxy on ${origin}; key file ${keysFile}`);
  return {
    url: origin,
    nodes,
    keysFile,
    kill(index) {
      nodes[index].process.kill('SIGKILL');
    },
    async restart(index) {
      spawnNode(index);
      await answers(`http://127.0.0.1:${nodes[index].port}`, Date.now() + 60_000);
    },
    async stop() {
      await new Promise<void>((r) => proxy.close(() => r()));
      await Promise.all(
        nodes.map(
          (n) =>
            new Promise<void>((r) => {
              if (n.process.exitCode !== null || n.process.signalCode !== null) return r();
              n.process.once('exit', () => r());
              n.process.kill('SIGTERM');
            }),
        ),
      );
      removeOwnKeys();
    },
  };
}

async function main(): Promise<void> {
  let o;
  try {
    o = parseClusterArgs(process.argv.slice(2));
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cluster: ${err.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (o === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const cluster = await startCluster(o);
  const stop = () => {
    process.stdout.write('\ncluster: stopping…\n');
    void cluster.stop().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().catch((err: Error) => {
    process.stderr.write(`cluster: ${err.message}\n`);
    process.exit(1);
  });
}
