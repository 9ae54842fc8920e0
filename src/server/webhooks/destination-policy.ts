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

/**
 * "::ffff:169.254.169.254" is 169.254.169.254: judge IPv4-mapped addresses as the IPv4 address
 * they carry, in either spelling (URL parsing turns the dotted one into "::ffff:a9fe:a9fe").
 */
function unmapped(address: string): string {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted?.[1]) return dotted[1];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(address);
  if (!hex?.[1] || !hex[2]) return address;
  const high = parseInt(hex[1], 16);
  const low = parseInt(hex[2], 16);
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The class of an IP address (a literal, not a host name). */
export function classifyAddress(ip: string): DestinationClass {
  const address = unmapped(ip.toLowerCase());
  const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
  if (metadataAddresses.has(address)) return 'metadata';
  if (reserved.check(address, family)) return 'reserved';
  if (linkLocal.check(address, family)) return 'link_local';
  if (privateRanges.check(address, family)) return 'private';
  return 'public';
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
  return klass === undefined ? undefined : refusal(`host ${url.hostname}`, klass, policy);
}
