import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { subtle } from './crypto-provider.js';
import { ownBytes, pemDecodeOne, pemEncode } from './pem.js';

export const keyAlgorithms = ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] as const;
export type KeyAlgorithm = (typeof keyAlgorithms)[number];

export interface KeyPair {
  algorithm: KeyAlgorithm;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
}

interface AlgorithmProfile {
  generate: EcKeyGenParams | RsaHashedKeyGenParams;
  import: EcKeyImportParams | RsaHashedImportParams;
  /** Signature algorithm for certificates, CRLs and CSRs made with this key. */
  sign: EcdsaParams | Algorithm;
  /** JOSE alg for JWT-SVIDs (spec J-03; SPIRE maps key type to alg the same way). */
  jws: 'ES256' | 'ES384' | 'RS256';
}

const rsaExponent = new Uint8Array([1, 0, 1]);

const profiles: Record<KeyAlgorithm, AlgorithmProfile> = {
  'ec-p256': {
    generate: { name: 'ECDSA', namedCurve: 'P-256' },
    import: { name: 'ECDSA', namedCurve: 'P-256' },
    sign: { name: 'ECDSA', hash: 'SHA-256' },
    jws: 'ES256',
  },
  'ec-p384': {
    generate: { name: 'ECDSA', namedCurve: 'P-384' },
    import: { name: 'ECDSA', namedCurve: 'P-384' },
    sign: { name: 'ECDSA', hash: 'SHA-384' },
    jws: 'ES384',
  },
  'rsa-2048': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048, publicExponent: rsaExponent, hash: 'SHA-256' },
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
    jws: 'RS256',
  },
  'rsa-3072': {
    generate: { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: rsaExponent, hash: 'SHA-256' },
    import: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' },
    sign: { name: 'RSASSA-PKCS1-v1_5' },
    jws: 'RS256',
  },
};

export function isKeyAlgorithm(value: string): value is KeyAlgorithm {
  return (keyAlgorithms as readonly string[]).includes(value);
}

export function signatureAlgorithmFor(algorithm: KeyAlgorithm): EcdsaParams | Algorithm {
  return profiles[algorithm].sign;
}

export function jwsAlgorithmFor(algorithm: KeyAlgorithm): 'ES256' | 'ES384' | 'RS256' {
  return profiles[algorithm].jws;
}

export async function generateKeyPair(algorithm: KeyAlgorithm): Promise<KeyPair> {
  const pair = (await subtle.generateKey(profiles[algorithm].generate, true, ['sign', 'verify'])) as CryptoKeyPair;
  return { algorithm, privateKey: pair.privateKey, publicKey: pair.publicKey };
}

export async function exportPrivateKeyPkcs8(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.exportKey('pkcs8', key));
}

export async function exportPrivateKeyPem(key: CryptoKey): Promise<string> {
  return pemEncode('PRIVATE KEY', await exportPrivateKeyPkcs8(key));
}

export async function exportPublicKeySpki(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array(await subtle.exportKey('spki', key));
}

export async function exportPublicKeyJwk(key: CryptoKey): Promise<JsonWebKey> {
  const jwk = await subtle.exportKey('jwk', key);
  // Only the key material: no key_ops/ext, which SPIFFE bundles must not carry (B-06).
  const { kty, crv, x, y, n, e } = jwk;
  return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e }).filter(([, v]) => v !== undefined)) as JsonWebKey;
}

/** Work out which of our algorithms a key is, from the key itself (PKCS#8 or SPKI). */
export function keyAlgorithmOf(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'ec') {
    if (details.namedCurve === 'prime256v1') return 'ec-p256';
    if (details.namedCurve === 'secp384r1') return 'ec-p384';
    throw new Error(`unsupported EC curve ${details.namedCurve ?? 'unknown'} (supported: P-256, P-384)`);
  }
  if (key.asymmetricKeyType === 'rsa') {
    if (details.modulusLength === 2048) return 'rsa-2048';
    if (details.modulusLength === 3072) return 'rsa-3072';
    throw new Error(`unsupported RSA key size ${details.modulusLength ?? 'unknown'} (supported: 2048, 3072)`);
  }
  throw new Error(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'} (supported: EC P-256/P-384, RSA 2048/3072)`);
}

/** Import a PEM private key (PKCS#8, or the SEC1/PKCS#1 forms openssl writes) with its public half. */
export async function importPrivateKeyPem(pem: string): Promise<KeyPair> {
  const keyObject = createPrivateKey({ key: pem, format: 'pem' });
  const algorithm = keyAlgorithmOf(keyObject);
  const pkcs8 = keyObject.export({ format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(keyObject).export({ format: 'der', type: 'spki' });
  const params = profiles[algorithm].import;
  const privateKey = await subtle.importKey('pkcs8', pkcs8, params, true, ['sign']);
  const publicKey = await subtle.importKey('spki', spki, params, true, ['verify']);
  return { algorithm, privateKey, publicKey };
}

/** Import an SPKI public key (from a CSR or certificate) as a verify key. */
export async function importPublicKeySpki(spki: Uint8Array): Promise<{ algorithm: KeyAlgorithm; publicKey: CryptoKey }> {
  const algorithm = keyAlgorithmOf(createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' }));
  const publicKey = await subtle.importKey('spki', ownBytes(spki), profiles[algorithm].import, true, ['verify']);
  return { algorithm, publicKey };
}

export { pemDecodeOne };
