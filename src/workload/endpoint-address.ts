/**
 * Workload API addresses (SPIFFE Workload Endpoint §4, spec §5.4 WL-10..WL-13), judged exactly
 * as go-spiffe's `workloadapi` judges them, with its error texts, so that an address our tools
 * accept is one every go-spiffe workload accepts too.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { GoUrlError, parseGoUrl, type GoUrl } from './go-url.js';

export const ENDPOINT_SOCKET_ENV = 'SPIFFE_ENDPOINT_SOCKET';

export class EndpointAddressError extends Error {
  override readonly name = 'EndpointAddressError';
}

export interface EndpointTarget {
  /** A @grpc/grpc-js target: `unix:///abs/path` or `ip:port` (`[v6]:port`). */
  target: string;
}

export interface WorkloadEndpoint extends EndpointTarget {
  /** The address as configured, e.g. `unix:///run/sigil/agent.sock`. */
  address: string;
  source: 'explicit' | typeof ENDPOINT_SOCKET_ENV;
}

function fail(message: string): never {
  throw new EndpointAddressError(message);
}

/** go-spiffe's `TargetFromAddress` (POSIX): a `unix` or `tcp` URI to a gRPC target. */
export function parseEndpointSocket(value: string): EndpointTarget {
  let url: GoUrl;
  try {
    url = parseGoUrl(value);
  } catch (err) {
    if (err instanceof GoUrlError) fail(`workload endpoint socket is not a valid URI: ${err.message}`);
    throw err;
  }
  switch (url.scheme) {
    case 'unix':
      return { target: unixTarget(url) };
    case 'tcp':
      return { target: tcpTarget(url) };
    default:
      return fail('workload endpoint socket URI must have a "tcp" or "unix" scheme');
  }
}

function unixTarget(url: GoUrl): string {
  if (url.opaque !== '') fail('workload endpoint unix socket URI must not be opaque');
  if (url.user !== undefined) fail('workload endpoint unix socket URI must not include user info');
  if (url.host === '' && url.path === '') fail('workload endpoint unix socket URI must include a path');
  if (url.rawQuery !== '') fail('workload endpoint unix socket URI must not include query values');
  if (url.fragment !== '') fail('workload endpoint unix socket URI must not include a fragment');
  // go-spiffe also accepts `unix://foo` (an authority, which the spec forbids) and hands it to
  // gRPC as is, where dialing fails; we do the same rather than guess what was meant.
  return `unix://${url.host}${url.path}`;
}

function tcpTarget(url: GoUrl): string {
  if (url.opaque !== '') fail('workload endpoint tcp socket URI must not be opaque');
  if (url.user !== undefined) fail('workload endpoint tcp socket URI must not include user info');
  if (url.host === '') fail('workload endpoint tcp socket URI must include a host');
  if (url.path !== '') fail('workload endpoint tcp socket URI must not include a path');
  if (url.rawQuery !== '') fail('workload endpoint tcp socket URI must not include query values');
  if (url.fragment !== '') fail('workload endpoint tcp socket URI must not include a fragment');

  const { hostname, port } = splitHostPort(url.host);
  const ip = canonicalIp(hostname);
  if (ip === undefined) fail('workload endpoint tcp socket URI host component must be an IP:port');
  if (port === '') fail('workload endpoint tcp socket URI host component must include a port');
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** Go's `URL.Hostname()` and `URL.Port()`. */
function splitHostPort(host: string): { hostname: string; port: string } {
  let hostname = host;
  let port = '';
  const colonAt = host.lastIndexOf(':');
  if (colonAt !== -1 && /^:[0-9]*$/.test(host.slice(colonAt))) {
    hostname = host.slice(0, colonAt);
    port = host.slice(colonAt + 1);
  }
  if (hostname.startsWith('[') && hostname.endsWith(']')) hostname = hostname.slice(1, -1);
  return { hostname, port };
}

/** `net.ParseIP(s).String()`: undefined when Go would not parse it (zones included). */
function canonicalIp(hostname: string): string | undefined {
  if (isIPv4(hostname)) return hostname;
  if (!isIPv6(hostname) || hostname.includes('%')) return undefined;
  const bracketed = new URL(`http://[${hostname}]`).hostname;
  // Go prints an IPv4-mapped IPv6 address as plain IPv4.
  const mapped = /^\[::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})\]$/.exec(bracketed);
  if (mapped) {
    const high = parseInt(mapped[1]!, 16);
    const low = parseInt(mapped[2]!, 16);
    return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
  }
  return bracketed.slice(1, -1);
}

/**
 * WL-10: the explicit address if given, else `SPIFFE_ENDPOINT_SOCKET`. An empty value counts as
 * unset (go-spiffe would report the empty string as a bad scheme instead).
 */
export function endpointFromEnvironment(explicit?: string, env: NodeJS.ProcessEnv = process.env): WorkloadEndpoint {
  if (explicit !== undefined && explicit !== '') return { address: explicit, source: 'explicit', ...parseEndpointSocket(explicit) };
  const fromEnv = env[ENDPOINT_SOCKET_ENV];
  if (fromEnv === undefined || fromEnv === '') {
    fail(`workload endpoint socket address is not configured: give an address explicitly or set ${ENDPOINT_SOCKET_ENV} to a unix:///absolute/path or tcp://IP:port URI`);
  }
  try {
    return { address: fromEnv, source: ENDPOINT_SOCKET_ENV, ...parseEndpointSocket(fromEnv) };
  } catch (err) {
    if (err instanceof EndpointAddressError) fail(`${ENDPOINT_SOCKET_ENV}=${JSON.stringify(fromEnv)}: ${err.message}`);
    throw err;
  }
}
