import { SignJWT } from 'jose';
import { jwsAlgorithmFor, type KeyPair } from './keys.js';

export interface JwtSvidClaims {
  sub: string;
  aud: string[];
  /** Seconds since the epoch. */
  exp: number;
  iat: number;
  /** The OIDC issuer, when one is configured (JWT-SVIDs may carry `iss`; SPIFFE JWT-SVID §3). */
  iss?: string | undefined;
}

/** Sign a JWT-SVID: compact JWS with only alg, kid and typ=JWT headers (spec J-01..J-05, §8.4/8.5). */
export async function signJwtSvid(keys: KeyPair, kid: string, claims: JwtSvidClaims): Promise<string> {
  const jwt = new SignJWT({ aud: claims.aud }).setProtectedHeader({ alg: jwsAlgorithmFor(keys.algorithm), kid, typ: 'JWT' });
  if (claims.iss !== undefined) jwt.setIssuer(claims.iss);
  return jwt
    .setSubject(claims.sub)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(keys.privateKey);
}
