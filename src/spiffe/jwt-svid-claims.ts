/**
 * Checks on a decoded JWT-SVID header and claims set (JWT-SVID §2–§3, rules J-02..J-08), with
 * go-spiffe's error texts and order (spec §3.3). Signature verification and JOSE decoding are
 * not done here; this is what runs after the token is split and base64url-decoded.
 */
import { SpiffeIdError, parseSpiffeId, type SpiffeId } from './id.js';

/** J-03: RS/ES/PS only. `none`, HS* and EdDSA are rejected. */
export const JWT_SVID_ALGORITHMS = [
  'RS256', 'RS384', 'RS512',
  'ES256', 'ES384', 'ES512',
  'PS256', 'PS384', 'PS512',
] as const;
export type JwtSvidAlgorithm = (typeof JWT_SVID_ALGORITHMS)[number];

/** go-jose's DefaultLeeway, used by go-spiffe and SPIRE. */
export const DEFAULT_LEEWAY_SECONDS = 60;

const ALLOWED_HEADERS = ['alg', 'kid', 'typ'];

export class JwtSvidError extends Error {
  override readonly name = 'JwtSvidError';
}

export interface JwtSvidHeader {
  alg: JwtSvidAlgorithm;
  kid: string;
  typ?: 'JWT' | 'JOSE';
}

export interface JwtSvidClaims {
  spiffeId: SpiffeId;
  audience: string[];
  expiresAt: Date;
  notBefore?: Date;
  issuedAt?: Date;
  /** Every claim as decoded, including ones not named above (J-09). */
  claims: Readonly<Record<string, unknown>>;
}

export interface JwtSvidClaimsCheckOptions {
  /** Accept when `aud` contains any of these. Not checked when absent or empty, as in go-spiffe. */
  audience?: readonly string[];
  at: Date;
  leewaySeconds?: number;
}

function fail(message: string): never {
  throw new JwtSvidError(message);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function checkJwtSvidHeader(header: unknown): JwtSvidHeader {
  if (!isRecord(header)) fail('unable to parse JWT token: header is not a JSON object');
  // J-03 says to check alg before anything else.
  const alg = header.alg;
  if (!(JWT_SVID_ALGORITHMS as readonly unknown[]).includes(alg)) {
    const shown = alg === undefined ? '(none)' : JSON.stringify(alg);
    fail(`unable to parse JWT token: unsupported token signature algorithm ${shown}`);
  }
  // J-02. go-spiffe does not enforce this one; the spec says no other header may be present.
  const extra = Object.keys(header).find((name) => !ALLOWED_HEADERS.includes(name));
  if (extra !== undefined) fail(`token header ${JSON.stringify(extra)} is not allowed; only alg, kid and typ are`);

  const typ = header.typ;
  if (typ !== undefined && typ !== 'JWT' && typ !== 'JOSE') fail('token header type not equal to either JWT or JOSE');

  // J-04 makes kid optional, but go-spiffe and SPIRE cannot validate a token without one.
  const kid = header.kid;
  if (kid === undefined || kid === '') fail('token header missing key id');
  if (typeof kid !== 'string') fail('unable to parse JWT token: header "kid" must be a string');

  return typ === undefined ? { alg: alg as JwtSvidAlgorithm, kid } : { alg: alg as JwtSvidAlgorithm, kid, typ };
}

export function checkJwtSvidClaims(claims: unknown, opts: JwtSvidClaimsCheckOptions): JwtSvidClaims {
  if (!isRecord(claims)) fail('unable to get claims from token: claims are not a JSON object');
  const { sub, exp, nbf, iat } = claims;
  const audience = audienceOf(claims.aud);
  if (sub !== undefined && typeof sub !== 'string') fail('unable to get claims from token: "sub" must be a string');
  for (const [name, value] of [['exp', exp], ['nbf', nbf], ['iat', iat]] as const) {
    if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value))) {
      fail(`unable to get claims from token: "${name}" must be a NumericDate`);
    }
  }

  if (sub === undefined || sub === '') fail('token missing subject claim'); // J-06
  if (exp === undefined) fail('token missing exp claim'); // J-08
  let spiffeId: SpiffeId;
  try {
    spiffeId = parseSpiffeId(sub);
  } catch (err) {
    if (err instanceof SpiffeIdError) fail(`token has an invalid subject claim: ${err.message}`);
    throw err;
  }
  // J-07. go-spiffe only notices a missing aud when the caller asks for an audience.
  if (audience.length === 0) fail('token missing aud claim');

  // From here on, go-jose's Claims.Validate order: audience, nbf, exp, iat.
  if (opts.audience !== undefined && opts.audience.length > 0 && !opts.audience.some((a) => audience.includes(a))) {
    fail(`expected audience in ${goQuotedList(opts.audience)} (audience=${goQuotedList(audience)})`);
  }
  const now = opts.at.getTime();
  const leeway = (opts.leewaySeconds ?? DEFAULT_LEEWAY_SECONDS) * 1000;
  const expiresAt = numericDate(exp as number);
  const notBefore = nbf === undefined ? undefined : numericDate(nbf as number);
  const issuedAt = iat === undefined ? undefined : numericDate(iat as number);
  if (notBefore !== undefined && now + leeway < notBefore.getTime()) fail('token not valid yet (nbf)');
  if (now - leeway > expiresAt.getTime()) fail('token has expired');
  if (issuedAt !== undefined && now + leeway < issuedAt.getTime()) fail('token issued in the future (iat)');

  const result: JwtSvidClaims = { spiffeId, audience, expiresAt, claims: Object.freeze({ ...claims }) };
  if (notBefore !== undefined) result.notBefore = notBefore;
  if (issuedAt !== undefined) result.issuedAt = issuedAt;
  return result;
}

/** `aud` is a string or an array of strings (RFC 7519 §4.1.3), as go-jose's Audience decodes it. */
function audienceOf(aud: unknown): string[] {
  if (aud === undefined) return [];
  if (typeof aud === 'string') return [aud];
  if (Array.isArray(aud) && aud.every((a) => typeof a === 'string')) return [...aud];
  return fail('unable to get claims from token: "aud" must be a string or an array of strings');
}

/** go-jose's NumericDate keeps whole seconds. */
function numericDate(seconds: number): Date {
  return new Date(Math.trunc(seconds) * 1000);
}

/** Go's `%q` of a []string: `["a" "b"]`. */
function goQuotedList(values: readonly string[]): string {
  return `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
}
