import { BlockList, isIP } from 'node:net';

/**
 * Where a webhook may go. A webhook URL is chosen by an API caller and fetched by the server, so
 * without a policy it is a way to make the server call its own cloud metadata service or the
 * admin ports of hosts beside it (server-side request forgery).
 *
 * - metadata / link_local: cloud metadata services and 169.254.0.0/16, fe80::/10. Only with the
 *   subscription's own allow_private flag.
 * - private: loopback, RFC 1918, shared (100.64.0.0/10) and unique-local addresses. With the
 *   subscription's allow_private flag, or the server's webhooks.allow_private_destinations.
 * - reserved: unspecified, multicast, broadcast and "this network" addresses. Never.
 */
export type DestinationClass = 'public' | 'private' | 'link_local' | 'metadata' | 'reserved';

export interface DestinationPolicy {
  /** The subscription's allow_private flag. */
  allowPrivate: boolean;
  /** The server's webhooks.allow_private_destinations. */
  allowPrivateDestinations: boolean;
}

function blockList(entries: readonly [string, number, 'ipv4' | 'ipv6'][]): BlockList {
  const list = new BlockList();
  for (const [network, prefix, family] of entries) list.addSubnet(network, prefix, family);
  return list;
}

const metadataAddresses = new Set(['169.254.169.254', '169.254.170.2', '100.100.100.200', '168.63.129.16', 'fd00:ec2::254']);
const metadataHostnames = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

const reserved = blockList([
  ['0.0.0.0', 8, 'ipv4'],
  ['224.0.0.0', 4, 'ipv4'],
  ['240.0.0.0', 4, 'ipv4'],
  ['::', 128, 'ipv6'],
  ['ff00::', 8, 'ipv6'],
]);
const linkLocal = blockList([
  ['169.254.0.0', 16, 'ipv4'],
  ['fe80::', 10, 'ipv6'],
]);
const privateRanges = blockList([
  ['127.0.0.0', 8, 'ipv4'],
  ['10.0.0.0', 8, 'ipv4'],
  ['172.16.0.0', 12, 'ipv4'],
  ['192.168.0.0', 16, 'ipv4'],
  ['100.64.0.0', 10, 'ipv4'],
  ['::1', 128, 'ipv6'],
  ['fc00::', 7, 'ipv6'],
]);

/** The eight 16-bit groups of an IPv6 literal, dotted IPv4 tail and zone id allowed ("::ffff:1.2.3.4", "fe80::1%eth0"). */
function ipv6Groups(address: string): number[] | undefined {
  const text = address.replace(/%.*$/, '');
  if (isIP(text) !== 6) return undefined;
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  const hex = dotted ? `${text.slice(0, dotted.index)}${hexPair(dotted.slice(1).map(Number))}` : text;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const [head = '', tail] = hex.split('::');
  if (tail === undefined) return groupsOf(head);
  const [before, after] = [groupsOf(head), groupsOf(tail)];
  return [...before, ...new Array<number>(8 - before.length - after.length).fill(0), ...after];
}

function hexPair([a = 0, b = 0, c = 0, d = 0]: number[]): string {
  return `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
}

function dottedQuad(high: number, low: number): string {
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** An IPv4 address carried inside an IPv6 one, and which translation carries it. */
export interface EmbeddedIpv4 {
  ipv4: string;
  form: 'IPv4-mapped' | 'IPv4-translated' | 'IPv4-compatible' | 'NAT64' | 'local-use NAT64' | '6to4' | 'Teredo';
}

const allZero = (groups: number[]) => groups.every((g) => g === 0);

/**
 * The IPv4 address an IPv6 address reaches through a translation or tunnel: traffic to
 * 64:ff9b::a9fe:a9fe goes, through a NAT64 gateway, to 169.254.169.254, so it is judged as that.
 */
export function embeddedIpv4(address: string): EmbeddedIpv4 | undefined {
  const g = ipv6Groups(address.toLowerCase());
  if (!g) return undefined;
  const [g0 = 0, g1 = 0, g2 = 0, , g4 = 0, g5 = 0, g6 = 0, g7 = 0] = g;
  const low32 = dottedQuad(g6, g7);
  // ::ffff:a.b.c.d (RFC 4291 §2.5.5.2)
  if (allZero(g.slice(0, 5)) && g5 === 0xffff) return { ipv4: low32, form: 'IPv4-mapped' };
  // ::ffff:0:a.b.c.d (RFC 2765 SIIT)
  if (allZero(g.slice(0, 4)) && g4 === 0xffff && g5 === 0) return { ipv4: low32, form: 'IPv4-translated' };
  // ::a.b.c.d (deprecated, RFC 4291 §2.5.5.1); :: and ::1 are IPv6's own unspecified and loopback.
  if (allZero(g.slice(0, 6)) && !(g6 === 0 && g7 <= 1)) return { ipv4: low32, form: 'IPv4-compatible' };
  // 64:ff9b::/96 (RFC 6052)
  if (g0 === 0x64 && g1 === 0xff9b && allZero(g.slice(2, 6))) return { ipv4: low32, form: 'NAT64' };
  // 64:ff9b:1::/48 (RFC 8215), read in the /96 form RFC 6052 recommends.
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) return { ipv4: low32, form: 'local-use NAT64' };
  // 2002:AABB:CCDD::/48 (RFC 3056)
  if (g0 === 0x2002) return { ipv4: dottedQuad(g1, g2), form: '6to4' };
  // 2001:0:<server>:<flags>:<port>:<client>, the client address inverted (RFC 4380).
  if (g0 === 0x2001 && g1 === 0) return { ipv4: dottedQuad(g6 ^ 0xffff, g7 ^ 0xffff), form: 'Teredo' };
  return undefined;
}

function classifyLiteral(address: string): DestinationClass {
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (metadataAddresses.has(address)) return 'metadata';
  if (reserved.check(address, family)) return 'reserved';
  if (linkLocal.check(address, family)) return 'link_local';
  if (privateRanges.check(address, family)) return 'private';
  return 'public';
}

/** The class of an IP address (a literal, not a host name); one that carries an IPv4 address is judged as that address. */
export function classifyAddress(ip: string): DestinationClass {
  const address = ip.toLowerCase();
  const carried = embeddedIpv4(address);
  if (!carried) return classifyLiteral(address);
  const judged = classifyLiteral(carried.ipv4);
  // Local-use NAT64 reaches only the operator's own networks (RFC 8215), whatever it embeds.
  return carried.form === 'local-use NAT64' && judged === 'public' ? 'private' : judged;
}

/** The class of a URL host: an IP literal by its address; a few names by what they always are; any other name is judged when it resolves. */
export function classifyHost(hostname: string): DestinationClass | undefined {
  const host = hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '').toLowerCase();
  if (isIP(host)) return classifyAddress(host);
  if (metadataHostnames.has(host)) return 'metadata';
  if (host === 'localhost' || host.endsWith('.localhost')) return 'private';
  return undefined;
}

const descriptions: Record<Exclude<DestinationClass, 'public'>, string> = {
  metadata: 'a cloud metadata address',
  link_local: 'a link-local address',
  private: 'a loopback or private address',
  reserved: 'an unspecified, multicast or reserved address',
};

/** Why `klass` is refused under `policy`, or undefined when it is allowed. */
export function refusal(what: string, klass: DestinationClass, policy: DestinationPolicy): string | undefined {
  switch (klass) {
    case 'public':
      return undefined;
    case 'reserved':
      return `${what} is ${descriptions[klass]}; webhooks cannot be delivered there`;
    case 'metadata':
    case 'link_local':
      return policy.allowPrivate ? undefined : `${what} is ${descriptions[klass]}; refused unless the webhook sets allow_private`;
    case 'private':
      return policy.allowPrivate || policy.allowPrivateDestinations
        ? undefined
        : `${what} is ${descriptions[klass]}; refused unless the webhook sets allow_private (or the server sets webhooks.allow_private_destinations)`;
  }
}

/** Check a subscription URL: http or https, no credentials in it, and a host the policy allows. Returns why not, or undefined. */
export function urlRefusal(text: string, policy: DestinationPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'not a valid absolute URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `scheme ${url.protocol.replace(/:$/, '')} is not allowed (use http or https)`;
  if (url.username || url.password) return 'must not contain credentials (user:password@); the signature authenticates Sigil to the receiver';
  if (url.hash) return 'must not have a #fragment';
  const klass = classifyHost(url.hostname);
  if (klass === undefined) return undefined;
  const carried = embeddedIpv4(url.hostname.replace(/^\[|\]$/g, ''));
  const host = carried ? `host ${url.hostname} (the ${carried.form} form of ${carried.ipv4})` : `host ${url.hostname}`;
  return refusal(host, klass, policy);
}
