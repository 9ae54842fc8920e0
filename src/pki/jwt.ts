import { SignJWT } from 'jose';
import { jwsAlgorithmFor, type KeyPair } from './keys.js';

export interface JwtSvidClaims {
  sub: string;
  aud: string[];
  /** Seconds since the epoch. */
  exp: number;
  iat: number;
}

/** Sign a JWT-SVID: compact JWS with only alg, kid and typ=JWT headers (spec J-01..J-05, §8.4/8.5). */
export async function signJwtSvid(keys: KeyPair, kid: string, claims: JwtSvidClaims): Promise<string> {
  return new SignJWT({ aud: claims.aud })
    .setProtectedHeader({ alg: jwsAlgorithmFor(keys.algorithm), kid, typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt(claims.iat)
    .setExpirationTime(claims.exp)
    .sign(keys.privateKey);
}
