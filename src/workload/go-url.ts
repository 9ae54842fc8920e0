/**
 * The part of Go's `net/url.Parse` that decides what go-spiffe says about a Workload API address:
 * the same split into scheme, opaque, user info, host, path, query and fragment, and the same
 * parse errors with the same texts. SPIFFE_ENDPOINT_SOCKET values are judged by what go-spiffe
 * does with them (spec §5.4), and go-spiffe sees them through this parser, not through WHATWG URL.
 */

/** The fields of Go's `url.URL` that go-spiffe reads. `host` and `path` are unescaped. */
export interface GoUrl {
  scheme: string;
  opaque: string;
  /** Raw user info; undefined when there is no `@` in the authority (Go's `User == nil`). */
  user: string | undefined;
  host: string;
  path: string;
  rawQuery: string;
  fragment: string;
}

export class GoUrlError extends Error {
  override readonly name = 'GoUrlError';
}

type EscapeMode = 'host' | 'zone' | 'path' | 'user' | 'fragment';

/** `url.Parse(raw)`; throws GoUrlError with Go's text, e.g. `parse "tcp://x:y": invalid port ":y" after host`. */
export function parseGoUrl(raw: string): GoUrl {
  const hashAt = raw.indexOf('#');
  const beforeFragment = hashAt === -1 ? raw : raw.slice(0, hashAt);
  let url: GoUrl;
  try {
    url = parseWithoutFragment(beforeFragment);
  } catch (err) {
    throw new GoUrlError(`parse ${goQuote(beforeFragment)}: ${(err as Error).message}`);
  }
  if (hashAt !== -1) {
    try {
      url.fragment = unescape(raw.slice(hashAt + 1), 'fragment');
    } catch (err) {
      throw new GoUrlError(`parse ${goQuote(raw)}: ${(err as Error).message}`);
    }
  }
  return url;
}

function parseWithoutFragment(raw: string): GoUrl {
  if ([...raw].some(isControlCharacter)) throw new Error('net/url: invalid control character in URL');
  const url: GoUrl = { scheme: '', opaque: '', user: undefined, host: '', path: '', rawQuery: '', fragment: '' };
  if (raw === '*') {
    url.path = '*';
    return url;
  }
  const { scheme, rest: afterScheme } = splitScheme(raw);
  url.scheme = scheme.toLowerCase();

  let rest = afterScheme;
  // A lone trailing "?" is Go's ForceQuery: an empty query, not a query value.
  if (rest.endsWith('?') && rest.indexOf('?') === rest.length - 1) {
    rest = rest.slice(0, -1);
  } else {
    const questionAt = rest.indexOf('?');
    if (questionAt !== -1) {
      url.rawQuery = rest.slice(questionAt + 1);
      rest = rest.slice(0, questionAt);
    }
  }

  if (!rest.startsWith('/')) {
    if (url.scheme !== '') {
      url.opaque = rest;
      return url;
    }
    const firstSegment = rest.split('/', 1)[0] ?? '';
    if (firstSegment.includes(':')) throw new Error('first path segment in URL cannot contain colon');
  }

  if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2);
    rest = '';
    const slashAt = authority.indexOf('/');
    if (slashAt !== -1) {
      rest = authority.slice(slashAt);
      authority = authority.slice(0, slashAt);
    }
    const { user, host } = parseAuthority(authority);
    url.user = user;
    url.host = host;
  }
  url.path = unescape(rest, 'path');
  return url;
}

/** Go's stringContainsCTLByte: bytes below 0x20, and DEL. */
function isControlCharacter(c: string): boolean {
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

function splitScheme(raw: string): { scheme: string; rest: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return { scheme: '', rest: raw };
      continue;
    }
    if (c === ':') {
      if (i === 0) throw new Error('missing protocol scheme');
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) };
    }
    return { scheme: '', rest: raw };
  }
  return { scheme: '', rest: raw };
}

function parseAuthority(authority: string): { user: string | undefined; host: string } {
  const atAt = authority.lastIndexOf('@');
  const host = parseHost(atAt === -1 ? authority : authority.slice(atAt + 1));
  if (atAt === -1) return { user: undefined, host };
  const user = authority.slice(0, atAt);
  if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(user)) throw new Error('net/url: invalid userinfo');
  for (const part of user.split(':', 2)) unescape(part, 'user');
  return { user, host };
}

function parseHost(host: string): string {
  if (host.startsWith('[')) {
    const closeAt = host.lastIndexOf(']');
    if (closeAt === -1) throw new Error("missing ']' in host");
    const colonPort = host.slice(closeAt + 1);
    if (!isValidOptionalPort(colonPort)) throw new Error(`invalid port ${goQuote(colonPort)} after host`);
    const zoneAt = host.slice(0, closeAt).indexOf('%25');
    if (zoneAt !== -1) {
      return unescape(host.slice(0, zoneAt), 'host') + unescape(host.slice(zoneAt, closeAt), 'zone') + unescape(host.slice(closeAt), 'host');
    }
  } else {
    const colonAt = host.lastIndexOf(':');
    if (colonAt !== -1) {
      const colonPort = host.slice(colonAt);
      if (!isValidOptionalPort(colonPort)) throw new Error(`invalid port ${goQuote(colonPort)} after host`);
    }
  }
  return unescape(host, 'host');
}

export function isValidOptionalPort(colonPort: string): boolean {
  return colonPort === '' || /^:[0-9]*$/.test(colonPort);
}

const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9A-Fa-f]$/.test(c);
/** Characters Go lets through unescaped in a host (shouldEscape with encodeHost is false). */
const HOST_CHAR = /[A-Za-z0-9\-_.~!$&'()*+,;=:[\]<>"]/;

function unescape(s: string, mode: EscapeMode): string {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; ) {
    const c = s[i]!;
    if (c === '%') {
      if (!isHex(s[i + 1]) || !isHex(s[i + 2])) throw new Error(`invalid URL escape ${goQuote(s.slice(i, i + 3))}`);
      const byte = parseInt(s.slice(i + 1, i + 3), 16);
      // In a host, only %25 (an escaped '%') and escapes of non-ASCII bytes are allowed.
      if (mode === 'host' && byte < 0x80 && s.slice(i, i + 3) !== '%25') throw new Error(`invalid URL escape ${goQuote(s.slice(i, i + 3))}`);
      bytes.push(byte);
      i += 3;
      continue;
    }
    if ((mode === 'host' || mode === 'zone') && c.charCodeAt(0) < 0x80 && !HOST_CHAR.test(c)) {
      throw new Error(`invalid character ${goQuote(c)} in host name`);
    }
    const character = String.fromCodePoint(s.codePointAt(i)!);
    bytes.push(...Buffer.from(character, 'utf8'));
    i += character.length;
  }
  return Buffer.from(bytes).toString('utf8');
}

const GO_ESCAPES: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '"': '\\"', '\\': '\\\\' };

/** Go's `strconv.Quote` for the characters an address can contain. */
export function goQuote(s: string): string {
  let out = '"';
  for (const c of s) {
    const code = c.codePointAt(0)!;
    if (GO_ESCAPES[c] !== undefined) out += GO_ESCAPES[c];
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += c;
  }
  return out + '"';
}
