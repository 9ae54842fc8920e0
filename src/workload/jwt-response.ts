/**
 * Checks on JWT-SVIDs and JWT bundles from the Workload API, as a go-spiffe client makes them:
 * tokens go through `jwtsvid.ParseInsecure` (no signature check: the agent is trusted, spec §3.3),
 * bundles through `jwtbundle.Parse` (every key needs a kid, spec §3.5).
 */
import type { JwtBundlesResponse, JwtSvidResponse } from '../common/grpc/workload-api-types.js';
import { SpiffeIdError, parseTrustDomain } from '../spiffe/id.js';
import { JWT_SVID_ALGORITHMS, JwtSvidError, checkJwtSvidClaims } from '../spiffe/jwt-svid-claims.js';
import { WorkloadResponseError } from './errors.js';

export interface JwtSvid {
  spiffeId: string;
  token: string;
  hint: string;
  audience: string[];
  expiresAt: Date;
  /** Every claim of the token, as decoded. */
  claims: Readonly<Record<string, unknown>>;
}

export interface JwtBundle {
  /** The JWKS document as the agent sent it. */
  jwksJson: string;
  /** The keys, each with its non-empty kid. */
  keys: Array<Record<string, unknown> & { kid: string }>;
}

function fail(message: string): never {
  throw new WorkloadResponseError(message);
}

export function parseJwtSvidResponse(response: JwtSvidResponse, audience: readonly string[], now: Date): JwtSvid[] {
  if (response.svids.length === 0) fail('there were no SVIDs in the response');
  const seenHints = new Set<string>();
  const svids: JwtSvid[] = [];
  for (const message of response.svids) {
    if (message.hint !== '' && seenHints.has(message.hint)) continue;
    seenHints.add(message.hint);
    const svid = parseJwtSvidInsecure(message.svid, audience, now);
    if (message.spiffe_id !== svid.spiffeId) fail(`JWT-SVID spiffe_id "${message.spiffe_id}" does not match the token's subject "${svid.spiffeId}"`);
    svids.push({ ...svid, hint: message.hint });
  }
  return svids;
}

/** go-spiffe's `jwtsvid.ParseInsecure`: the header and claims checks without the signature. */
export function parseJwtSvidInsecure(token: string, audience: readonly string[], now: Date): JwtSvid {
  const parts = token.split('.');
  if (parts.length !== 3) fail('jwtsvid: unable to parse JWT token');
  const header = decodeJsonPart(parts[0]!);
  if (header === undefined || !(JWT_SVID_ALGORITHMS as readonly unknown[]).includes(header.alg)) fail('jwtsvid: unable to parse JWT token');
  if (header.typ !== undefined && header.typ !== 'JWT' && header.typ !== 'JOSE') fail('jwtsvid: token header type not equal to either JWT or JOSE');
  const claims = decodeJsonPart(parts[1]!);
  if (claims === undefined) fail('jwtsvid: unable to get claims from token: the payload is not a base64url JSON object');
  try {
    const checked = checkJwtSvidClaims(claims, { audience, at: now });
    return { spiffeId: checked.spiffeId.toString(), token, hint: '', audience: checked.audience, expiresAt: checked.expiresAt, claims: checked.claims };
  } catch (err) {
    if (err instanceof JwtSvidError) fail(`jwtsvid: ${err.message}`);
    throw err;
  }
}

function decodeJsonPart(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Trust domain name to its JWT bundle. */
export function parseJwtBundlesResponse(response: JwtBundlesResponse): Map<string, JwtBundle> {
  const bundles = new Map<string, JwtBundle>();
  for (const [key, value] of Object.entries(response.bundles ?? {})) {
    let trustDomain: string;
    try {
      trustDomain = parseTrustDomain(key);
    } catch (err) {
      if (err instanceof SpiffeIdError) fail(`bundles has an invalid trust domain key ${JSON.stringify(key)}: ${err.message}`);
      throw err;
    }
    bundles.set(trustDomain, parseJwks(Buffer.from(value).toString('utf8'), trustDomain));
  }
  return bundles;
}

function parseJwks(jwksJson: string, trustDomain: string): JwtBundle {
  let document: unknown;
  try {
    document = JSON.parse(jwksJson);
  } catch (err) {
    return fail(`jwtbundle: unable to parse JWKS of ${trustDomain}: ${(err as Error).message}`);
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(keys)) fail(`jwtbundle: unable to parse JWKS of ${trustDomain}: "keys" must be an array`);
  keys.forEach((key: unknown, i) => {
    const kid = (key as { kid?: unknown } | null)?.kid;
    if (typeof kid !== 'string' || kid === '') fail(`jwtbundle: error adding authority ${i} of JWKS: keyID cannot be empty`);
  });
  return { jwksJson, keys: keys as JwtBundle['keys'] };
}
