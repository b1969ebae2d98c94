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

type Kind = 'loopback' | 'private' | 'link-local' | 'reserved' | 'translated';

/**
 * Node's BlockList parses every textual form of an address (compressed or not, hex or
 * dotted-quad tail, any case), so nothing here is parsed by hand. IPv6 addresses that carry or
 * reach an IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) are refused outright: the
 * IPv4 address they lead to is chosen by whoever picked the address, and a translator or relay
 * on the path may deliver to an internal host.
 */
const RANGES: [Kind, string, number, 'ipv4' | 'ipv6'][] = [
  ['reserved', '0.0.0.0', 8, 'ipv4'],
  ['private', '10.0.0.0', 8, 'ipv4'],
  ['private', '100.64.0.0', 10, 'ipv4'], // carrier-grade NAT
  ['loopback', '127.0.0.0', 8, 'ipv4'],
  ['link-local', '169.254.0.0', 16, 'ipv4'], // includes cloud metadata 169.254.169.254
  ['private', '172.16.0.0', 12, 'ipv4'],
  ['reserved', '192.0.0.0', 24, 'ipv4'],
  ['reserved', '192.0.2.0', 24, 'ipv4'], // documentation
  ['reserved', '192.88.99.0', 24, 'ipv4'], // 6to4 relay anycast
  ['private', '192.168.0.0', 16, 'ipv4'],
  ['reserved', '198.18.0.0', 15, 'ipv4'],
  ['reserved', '198.51.100.0', 24, 'ipv4'], // documentation
  ['reserved', '203.0.113.0', 24, 'ipv4'], // documentation
  ['reserved', '224.0.0.0', 4, 'ipv4'], // multicast
  ['reserved', '240.0.0.0', 4, 'ipv4'], // reserved and broadcast
  ['reserved', '::', 128, 'ipv6'],
  ['loopback', '::1', 128, 'ipv6'],
  ['reserved', '100::', 64, 'ipv6'], // discard-only
  ['reserved', '2001:db8::', 32, 'ipv6'], // documentation
  ['private', 'fc00::', 7, 'ipv6'], // unique local
  ['link-local', 'fe80::', 10, 'ipv6'],
  ['reserved', 'fec0::', 10, 'ipv6'], // deprecated site-local
  ['reserved', 'ff00::', 8, 'ipv6'], // multicast
  // Checked after the ranges above (BlockList also checks an IPv4-mapped address against the
  // IPv4 rules, so ::ffff:127.0.0.1 is reported as loopback); whatever is left is refused too.
  ['translated', '::ffff:0:0', 96, 'ipv6'], // IPv4-mapped, any spelling
  ['translated', '::', 96, 'ipv6'], // IPv4-compatible (deprecated), e.g. [::127.0.0.1]
  ['translated', '::ffff:0:0:0', 96, 'ipv6'], // IPv4-translated (SIIT)
  ['translated', '64:ff9b::', 96, 'ipv6'], // NAT64, well-known prefix
  ['translated', '64:ff9b:1::', 48, 'ipv6'], // NAT64, local-use prefix
  ['translated', '2002::', 16, 'ipv6'], // 6to4
  ['translated', '2001::', 32, 'ipv6'], // Teredo
];

const lists = new Map<Kind, BlockList>();
for (const [kind, net, prefix, family] of RANGES) {
  if (!lists.has(kind)) lists.set(kind, new BlockList());
  lists.get(kind)!.addSubnet(net, prefix, family);
}
// Map order decides the reported kind: the specific kinds before 'translated'.
const ORDER: Kind[] = ['loopback', 'private', 'link-local', 'reserved', 'translated'];

/** Why an IP address is not a public unicast address, or null when it is one. */
export function internalAddressKind(address: string): Kind | null {
  const bare = address.replace(/^\[|\]$/g, '').replace(/%.*$/, '');
  const family = isIP(bare);
  if (family === 0) return null;
  // BlockList also matches a plain IPv4 address against the IPv6 embedding ranges (::/96), so
  // those apply to IPv6 addresses only.
  for (const kind of ORDER) {
    if (family === 4 && kind === 'translated') continue;
    if (lists.get(kind)!.check(bare, family === 4 ? 'ipv4' : 'ipv6')) return kind;
  }
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
