import { promises as dnsPromises, type LookupAddress, type LookupOptions } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import type { Mode } from '../config.js';

/**
 * Guards outgoing webhook requests against server-side request forgery: in production a
 * callback may not reach loopback, private, link-local or otherwise internal addresses.
 * The check runs when a subscription is saved and again on every delivery, inside the
 * socket's DNS lookup, so a name that later resolves somewhere internal (DNS rebinding)
 * is refused at connect time.
 */

/** Resolves a host name to every address it has. Injectable so tests can fake DNS. */
export type Resolver = (host: string) => Promise<LookupAddress[]>;

export const systemResolver: Resolver = (host) => dnsPromises.lookup(host, { all: true, verbatim: true });

type Kind = 'loopback' | 'private' | 'link-local' | 'reserved';

const RANGES: [Kind, string, number, 'ipv4' | 'ipv6'][] = [
  ['reserved', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'], // includes cloud metadata 169.254.169.254
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '224.0.0.0', 4, 'ipv4'], // multicast
  ['reserved', '240.0.0.0', 4, 'ipv4'], // reserved and broadcast
  ['reserved', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['private', 'fc00::', 7, 'ipv6'], // unique local
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['reserved', 'ff00::', 8, 'ipv6'], // multicast
];

const lists = new Map<Kind, BlockList>();
for (const [kind, net, prefix, family] of RANGES) {
  if (!lists.has(kind)) lists.set(kind, new BlockList());
  lists.get(kind)!.addSubnet(net, prefix, family);
}

/** Expands an IPv6 address to its 8 16-bit groups (null when it is not one). */
function ipv6Groups(address: string): number[] | null {
  let addr = address.replace(/%.*$/, '');
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(addr);
  if (v4) {
    const o = v4[1].split('.').map(Number);
    addr = `${addr.slice(0, -v4[1].length)}${((o[0] << 8) | o[1]).toString(16)}:${((o[2] << 8) | o[3]).toString(16)}`;
  }
  const halves = addr.split('::');
  if (halves.length > 2) return null;
  const head = halves[0] ? halves[0].split(':') : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(':') : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return null;
  const groups = [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail].map((g) => parseInt(g, 16));
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff) ? groups : null;
}

/** The IPv4 address embedded in an IPv4-mapped (::ffff:a.b.c.d) or NAT64 (64:ff9b::a.b.c.d) IPv6 address. */
function embeddedIpv4(address: string): string | null {
  const g = ipv6Groups(address);
  if (!g) return null;
  const mapped = g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff;
  const nat64 = g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0);
  if (!mapped && !nat64) return null;
  return [g[6] >> 8, g[6] & 0xff, g[7] >> 8, g[7] & 0xff].join('.');
}

/** Why an IP address is not a public unicast address, or null when it is one. */
export function internalAddressKind(address: string): Kind | null {
  const bare = address.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 0) return null;
  if (family === 6) {
    const v4 = embeddedIpv4(bare);
    if (v4) return internalAddressKind(v4);
  }
  for (const [kind, list] of lists) if (list.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return kind;
  return null;
}

/** Sandbox http exception: localhost, 127.0.0.0/8 and [::1]. */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  return isIP(h) !== 0 && internalAddressKind(h) === 'loopback';
}

/**
 * Checks a callback URL's form against the register's mode, without DNS. Returns the
 * normalised URL, or the problems found (each naming `field`).
 */
export function checkCallbackUrlForm(raw: string, mode: Mode, field = 'callback-url'): { url: URL; problems: string[] } | { url: null; problems: string[] } {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { url: null, problems: [`${field} must be an absolute URL`] };
  }
  const problems: string[] = [];
  if (url.protocol === 'http:') {
    if (mode !== 'sandbox') problems.push(`${field} must use https`);
    else if (!isLoopbackHost(url.hostname)) problems.push(`${field} must use https (http is allowed in sandbox mode only for localhost, 127.0.0.0/8 and [::1])`);
  } else if (url.protocol !== 'https:') {
    problems.push(`${field} must use https`);
  }
  if (url.username || url.password) problems.push(`${field} must not contain user credentials`);
  if (url.hash) problems.push(`${field} must not contain a #fragment`);
  if (mode === 'production' && problems.length === 0) {
    const host = url.hostname.toLowerCase().replace(/^\[|\]$/g, '');
    const kind = internalAddressKind(host);
    if (kind) problems.push(`${field} points to a ${kind} address (${host}); callbacks must reach a public address in production mode`);
    else if (host === 'localhost' || host.endsWith('.localhost')) problems.push(`${field} points to localhost; callbacks must reach a public address in production mode`);
  }
  return { url, problems };
}

/** Production: resolves the host and refuses any internal address. Returns problems. */
export async function checkCallbackHost(url: URL, resolve: Resolver, field = 'callback-url'): Promise<string[]> {
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) return [];
  let addresses: LookupAddress[];
  try {
    addresses = await resolve(host);
  } catch {
    return [`${field} host ${host} does not resolve`];
  }
  if (addresses.length === 0) return [`${field} host ${host} does not resolve`];
  for (const a of addresses) {
    const kind = internalAddressKind(a.address);
    if (kind) return [`${field} host ${host} resolves to a ${kind} address (${a.address}); callbacks must reach a public address in production mode`];
  }
  return [];
}

/** A socket `lookup` that refuses internal addresses, for http(s).request in production. */
export function guardedLookup(resolve: Resolver): LookupFunction {
  return (hostname: string, options: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
    resolve(hostname).then(
      (addresses) => {
        const bad = addresses.find((a) => internalAddressKind(a.address));
        if (addresses.length === 0) return callback(Object.assign(new Error(`host ${hostname} does not resolve`), { code: 'ENOTFOUND' }), '');
        if (bad) return callback(Object.assign(new Error(`host ${hostname} resolves to a ${internalAddressKind(bad.address)} address (${bad.address}); refused`), { code: 'EDAR_SSRF' }), '');
        const family = options.family === 'IPv4' ? 4 : options.family === 'IPv6' ? 6 : options.family;
        const usable = family ? addresses.filter((a) => a.family === family) : addresses;
        if (usable.length === 0) return callback(Object.assign(new Error(`host ${hostname} has no IPv${family} address`), { code: 'ENOTFOUND' }), '');
        if (options.all) callback(null, usable);
        else callback(null, usable[0].address, usable[0].family);
      },
      (err: NodeJS.ErrnoException) => callback(err, ''),
    );
  };
}
