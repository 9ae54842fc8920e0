/**
 * SPIFFE IDs (SPIFFE-ID §2). Parsing follows go-spiffe's `spiffeid.FromString` byte for byte:
 * same checks, same order, same error texts, so that an ID we accept is one every go-spiffe
 * client accepts, and an error we print is the one operators find when they search for it.
 */

const SCHEME_PREFIX = 'spiffe://';
const SLASH = 0x2f;

/** ID-14: the longest SPIFFE ID we mint (parsing accepts longer ones, as go-spiffe does). */
export const MAX_SPIFFE_ID_BYTES = 2048;
/** ID-15: the longest trust domain name we mint. */
export const MAX_TRUST_DOMAIN_BYTES = 255;

const messages = {
  empty: 'cannot be empty',
  wrongScheme: 'scheme is missing or invalid',
  badTrustDomainChar:
    'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
  missingTrustDomain: 'trust domain is missing',
  noLeadingSlash: 'path must have a leading slash',
  emptySegment: 'path cannot contain empty segments',
  dotSegment: 'path cannot contain dot segments',
  badPathSegmentChar:
    'path segment characters are limited to letters, numbers, dots, dashes, and underscores',
  trailingSlash: 'path cannot have a trailing slash',
} as const;

export class SpiffeIdError extends Error {
  override readonly name = 'SpiffeIdError';
}

export class SpiffeId {
  readonly trustDomain: string;
  /** Empty for the ID of the trust domain itself, otherwise starts with `/`. */
  readonly path: string;

  /** Validates both parts; prefer `parseSpiffeId` or `spiffeIdFromParts`. */
  constructor(trustDomain: string, path: string) {
    validateTrustDomainName(trustDomain);
    validatePath(path);
    this.trustDomain = trustDomain;
    this.path = path;
    Object.freeze(this);
  }

  /** True for `spiffe://<td>` (ID-13): names the trust domain, never a workload. */
  get isTrustDomainId(): boolean {
    return this.path === '';
  }

  memberOf(trustDomain: string): boolean {
    return this.trustDomain === trustDomain;
  }

  equals(other: SpiffeId): boolean {
    return this.trustDomain === other.trustDomain && this.path === other.path;
  }

  toString(): string {
    return SCHEME_PREFIX + this.trustDomain + this.path;
  }

  toJSON(): string {
    return this.toString();
  }
}

// Non-ASCII code units are all >= 0x80, so they fail these checks just as go-spiffe's
// per-byte checks reject every byte of a multi-byte UTF-8 sequence.
function isTrustDomainChar(c: number): boolean {
  return (
    (c >= 0x61 && c <= 0x7a) || // a-z
    (c >= 0x30 && c <= 0x39) || // 0-9
    c === 0x2e || c === 0x2d || c === 0x5f // . - _
  );
}

function isPathSegmentChar(c: number): boolean {
  return isTrustDomainChar(c) || (c >= 0x41 && c <= 0x5a); // plus A-Z
}

export function parseSpiffeId(s: string): SpiffeId {
  if (s === '') throw new SpiffeIdError(messages.empty);
  if (!s.startsWith(SCHEME_PREFIX)) throw new SpiffeIdError(messages.wrongScheme);

  let pathIndex = SCHEME_PREFIX.length;
  for (; pathIndex < s.length; pathIndex++) {
    const c = s.charCodeAt(pathIndex);
    if (c === SLASH) break;
    if (!isTrustDomainChar(c)) throw new SpiffeIdError(messages.badTrustDomainChar);
  }
  if (pathIndex === SCHEME_PREFIX.length) throw new SpiffeIdError(messages.missingTrustDomain);

  return new SpiffeId(s.slice(SCHEME_PREFIX.length, pathIndex), s.slice(pathIndex));
}

/**
 * A trust domain name from either a bare name (`example.org`) or a SPIFFE ID
 * (`spiffe://example.org/x`), as go-spiffe's `TrustDomainFromString`. Input containing `:/`
 * is treated as an ID, so `spiffe:/example.org` reports the scheme error, not a charset error.
 */
export function parseTrustDomain(s: string): string {
  if (s === '') throw new SpiffeIdError(messages.missingTrustDomain);
  if (s.includes(':/')) return parseSpiffeId(s).trustDomain;
  validateTrustDomainName(s);
  return s;
}

/** A bare trust domain name: non-empty, `[a-z0-9._-]` only. */
export function validateTrustDomainName(name: string): void {
  if (name === '') throw new SpiffeIdError(messages.missingTrustDomain);
  for (let i = 0; i < name.length; i++) {
    if (!isTrustDomainChar(name.charCodeAt(i))) throw new SpiffeIdError(messages.badTrustDomainChar);
  }
}

/** A SPIFFE ID path: empty, or `/`-separated segments (ID-09..ID-12), as go-spiffe's `ValidatePath`. */
export function validatePath(path: string): void {
  if (path === '') return;
  if (path.charCodeAt(0) !== SLASH) throw new SpiffeIdError(messages.noLeadingSlash);

  // go-spiffe reports the first problem met while scanning left to right, so a bad
  // character before a `//` wins over the empty segment, and vice versa.
  let segmentStart = 0;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c === SLASH) {
      checkSegmentSoFar(path.slice(segmentStart, i), messages.emptySegment);
      segmentStart = i;
      continue;
    }
    if (!isPathSegmentChar(c)) throw new SpiffeIdError(messages.badPathSegmentChar);
  }
  checkSegmentSoFar(path.slice(segmentStart), messages.trailingSlash);
}

function checkSegmentSoFar(slashAndSegment: string, emptyMessage: string): void {
  if (slashAndSegment === '/') throw new SpiffeIdError(emptyMessage);
  if (slashAndSegment === '/.' || slashAndSegment === '/..') throw new SpiffeIdError(messages.dotSegment);
}

/** One path segment without slashes, as go-spiffe's `ValidatePathSegment`. */
export function validatePathSegment(segment: string): void {
  if (segment === '') throw new SpiffeIdError(messages.emptySegment);
  if (segment === '.' || segment === '..') throw new SpiffeIdError(messages.dotSegment);
  for (let i = 0; i < segment.length; i++) {
    if (!isPathSegmentChar(segment.charCodeAt(i))) throw new SpiffeIdError(messages.badPathSegmentChar);
  }
}

/** `trustDomain` is a bare name; `path` is empty or starts with `/`. */
export function spiffeIdFromParts(trustDomain: string, path: string): SpiffeId {
  return new SpiffeId(trustDomain, path);
}

/** Joins segments with `/`; each segment is checked on its own, so none may contain `/`. */
export function spiffeIdFromSegments(trustDomain: string, ...segments: string[]): SpiffeId {
  segments.forEach(validatePathSegment);
  return new SpiffeId(trustDomain, segments.map((s) => '/' + s).join(''));
}

/** `spiffe://<td>` (no path): the ID of a trust domain and of its signing authorities (ID-17). */
export function trustDomainId(trustDomain: string): SpiffeId {
  return new SpiffeId(trustDomain, '');
}

/**
 * Limits for IDs we issue. Parsing deliberately does not enforce them (ID-14 says implementations
 * MUST accept IDs up to 2048 bytes, and go-spiffe accepts any length), but we SHOULD NOT mint
 * longer ones. Valid IDs are ASCII, so string length is byte length.
 */
export function checkMintable(id: SpiffeId): void {
  if (id.trustDomain.length > MAX_TRUST_DOMAIN_BYTES) {
    throw new SpiffeIdError(
      `trust domain is ${id.trustDomain.length} bytes; the maximum is ${MAX_TRUST_DOMAIN_BYTES} bytes`,
    );
  }
  const length = id.toString().length;
  if (length > MAX_SPIFFE_ID_BYTES) {
    throw new SpiffeIdError(`SPIFFE ID is ${length} bytes; the maximum is ${MAX_SPIFFE_ID_BYTES} bytes`);
  }
}
