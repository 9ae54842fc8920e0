/**
 * Public-key JWK members for SPIFFE bundles: exactly the RFC 7518 public parameters (B-06 says
 * not to add others), in the member order go-jose writes them, so our bundles read like SPIRE's.
 */
import { X509Certificate as NodeX509Certificate, createPublicKey, type JsonWebKey as NodeJwk } from 'node:crypto';

/**
 * The JWK members we read or write. Both WebCrypto's `exportKey('jwk')` result and
 * node:crypto's `KeyObject.export({ format: 'jwk' })` result fit this type.
 */
export interface Jwk {
  kty?: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  d?: string;
  p?: string;
  q?: string;
  dp?: string;
  dq?: string;
  qi?: string;
  k?: string;
}

/** Public members only, in go-jose's order after use/kty/kid: crv, x, y, n, e. */
const PUBLIC_MEMBERS = ['crv', 'x', 'y', 'n', 'e'] as const;
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k'] as const;

export interface JwkLayout {
  use?: string;
  kid?: string;
  x5c?: string[];
}

/** `{use?, kty, kid?, crv?, x?, y?, n?, e?, x5c?}`, dropping anything else the key carries. */
export function orderedPublicJwk(key: Jwk, layout: JwkLayout): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (layout.use !== undefined) out.use = layout.use;
  out.kty = key.kty;
  if (layout.kid !== undefined) out.kid = layout.kid;
  for (const member of PUBLIC_MEMBERS) {
    if (key[member] !== undefined) out[member] = key[member];
  }
  if (layout.x5c !== undefined) out.x5c = layout.x5c;
  return out;
}

export function publicJwkOfCertificate(der: Uint8Array): Jwk {
  return new NodeX509Certificate(der).publicKey.export({ format: 'jwk' });
}

export function hasPrivateMembers(key: Jwk): boolean {
  return PRIVATE_MEMBERS.some((member) => key[member] !== undefined);
}

/**
 * The public members of `key` if they make a usable public key of the given types, else a
 * reason. Node's JWK import checks the curve, the point and the modulus for us.
 */
export function publicKeyMembers(key: Record<string, unknown>, allowedKty: readonly string[]): Jwk | string {
  if (typeof key.kty !== 'string' || !allowedKty.includes(key.kty)) {
    return `kty must be one of ${allowedKty.join(', ')}`;
  }
  const publicOnly: NodeJwk & Jwk = { kty: key.kty };
  for (const member of PUBLIC_MEMBERS) {
    const value = key[member];
    if (value === undefined) continue;
    if (typeof value !== 'string') return `"${member}" must be a string`;
    publicOnly[member] = value;
  }
  try {
    createPublicKey({ key: publicOnly, format: 'jwk' });
  } catch (err) {
    return `invalid ${key.kty} public key: ${err instanceof Error ? err.message : String(err)}`;
  }
  return publicOnly;
}
