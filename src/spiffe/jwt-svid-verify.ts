import { compactVerify, decodeJwt, decodeProtectedHeader, importJWK } from 'jose';
import type { JwtAuthority } from './bundle.js';
import { parseSpiffeId } from './id.js';
import { checkJwtSvidClaims, checkJwtSvidHeader, JwtSvidError, type JwtSvidClaims } from './jwt-svid-claims.js';

/**
 * Validate a JWT-SVID as SPIRE's ValidateToken does (spec §3.4): header (alg allow-list, kid),
 * subject, the key of the subject's trust domain and kid (J-12), the signature, then exp and aud.
 * `authoritiesFor` returns the JWT authorities of a trust domain, or undefined if we have no bundle.
 */
export async function verifyJwtSvid(
  token: string,
  authoritiesFor: (trustDomain: string) => readonly JwtAuthority[] | undefined,
  options: { audience: readonly string[]; at: Date },
): Promise<JwtSvidClaims> {
  let rawHeader: unknown;
  let rawClaims: unknown;
  try {
    if (token.split('.').length !== 3) throw new Error('not a compact JWS');
    rawHeader = decodeProtectedHeader(token);
    rawClaims = decodeJwt(token);
  } catch (err) {
    throw new JwtSvidError(`unable to parse JWT token: ${(err as Error).message}`);
  }
  const header = checkJwtSvidHeader(rawHeader);
  const sub = (rawClaims as { sub?: unknown }).sub;
  if (typeof sub !== 'string' || sub === '') throw new JwtSvidError('token missing subject claim');
  if ((rawClaims as { exp?: unknown }).exp === undefined) throw new JwtSvidError('token missing exp claim');
  let trustDomain: string;
  try {
    trustDomain = parseSpiffeId(sub).trustDomain;
  } catch (err) {
    throw new JwtSvidError(`token has an invalid subject claim: ${(err as Error).message}`);
  }
  const authorities = authoritiesFor(trustDomain);
  if (!authorities || authorities.length === 0) throw new JwtSvidError(`no keys found for trust domain "${trustDomain}"`);
  const authority = authorities.find((a) => a.kid === header.kid);
  if (!authority) throw new JwtSvidError(`public key "${header.kid}" not found in trust domain "${trustDomain}"`);
  try {
    const key = await importJWK(authority.publicKeyJwk as Parameters<typeof importJWK>[0], header.alg);
    await compactVerify(token, key, { algorithms: [header.alg] });
  } catch {
    throw new JwtSvidError('unable to get claims from token: error in cryptographic primitive');
  }
  return checkJwtSvidClaims(rawClaims, { audience: options.audience, at: options.at });
}
