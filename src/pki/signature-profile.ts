/**
 * Signature algorithms in DER: what Sigil signs certificates, CRLs and CSRs with (one per key
 * type, the choices @peculiar/x509 makes for the same keys), and what it accepts on a CSR.
 */
import { sign, verify, type KeyObject } from 'node:crypto';
import type { KeyAlgorithm } from './keys.js';

export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

export interface SignatureProfile {
  /** The AlgorithmIdentifier, DER. */
  algorithmDer: Buffer;
  hash: SignatureHash;
}

const ecdsaWithSha256 = Buffer.from('300a06082a8648ce3d040302', 'hex');
const ecdsaWithSha384 = Buffer.from('300a06082a8648ce3d040303', 'hex');
const ecdsaWithSha512 = Buffer.from('300a06082a8648ce3d040304', 'hex');
const sha256WithRsa = Buffer.from('300d06092a864886f70d01010b0500', 'hex');
const sha384WithRsa = Buffer.from('300d06092a864886f70d01010c0500', 'hex');
const sha512WithRsa = Buffer.from('300d06092a864886f70d01010d0500', 'hex');

/** ECDSA signatures are DER ECDSA-Sig-Value (RFC 5758 §3.2), RSA ones PKCS#1 v1.5 (RFC 4055). */
export const signatureProfiles: Record<KeyAlgorithm, SignatureProfile> = {
  'ec-p256': { algorithmDer: ecdsaWithSha256, hash: 'sha256' },
  'ec-p384': { algorithmDer: ecdsaWithSha384, hash: 'sha384' },
  'rsa-2048': { algorithmDer: sha256WithRsa, hash: 'sha256' },
  'rsa-3072': { algorithmDer: sha256WithRsa, hash: 'sha256' },
};

export interface AcceptedSignatureAlgorithm {
  keyType: 'ec' | 'rsa';
  hash: SignatureHash;
}

/**
 * Signature algorithms accepted on a CSR, by the hex of their AlgorithmIdentifier. SHA-1 is not
 * among them. `openssl req` signs with SHA-256 whatever the curve, so P-384 keys may come with
 * ecdsa-with-SHA256. RFC 4055 §5: RSA parameters are NULL, and their absence must be accepted.
 */
const acceptedOnCsr = new Map<string, AcceptedSignatureAlgorithm>([
  [ecdsaWithSha256.toString('hex'), { keyType: 'ec', hash: 'sha256' }],
  [ecdsaWithSha384.toString('hex'), { keyType: 'ec', hash: 'sha384' }],
  [ecdsaWithSha512.toString('hex'), { keyType: 'ec', hash: 'sha512' }],
  [sha256WithRsa.toString('hex'), { keyType: 'rsa', hash: 'sha256' }],
  [sha384WithRsa.toString('hex'), { keyType: 'rsa', hash: 'sha384' }],
  [sha512WithRsa.toString('hex'), { keyType: 'rsa', hash: 'sha512' }],
  ['300b06092a864886f70d01010b', { keyType: 'rsa', hash: 'sha256' }],
  ['300b06092a864886f70d01010c', { keyType: 'rsa', hash: 'sha384' }],
  ['300b06092a864886f70d01010d', { keyType: 'rsa', hash: 'sha512' }],
]);

export function csrSignatureAlgorithm(algorithmIdentifierDer: Uint8Array): AcceptedSignatureAlgorithm | undefined {
  return acceptedOnCsr.get(Buffer.from(algorithmIdentifierDer.buffer, algorithmIdentifierDer.byteOffset, algorithmIdentifierDer.byteLength).toString('hex'));
}

/** Sign on libuv's thread pool, off the event loop. */
export function signOffLoop(hash: SignatureHash, data: Uint8Array, key: KeyObject): Promise<Buffer> {
  return new Promise((resolve, reject) => sign(hash, data, key, (err, signature) => (err ? reject(err) : resolve(signature))));
}

/** Verify on libuv's thread pool; false (never a throw) for a signature that is not even well-formed. */
export function verifyOffLoop(hash: SignatureHash, data: Uint8Array, key: KeyObject, signature: Uint8Array): Promise<boolean> {
  return new Promise((resolve) => {
    try {
      verify(hash, data, key, signature, (err, valid) => resolve(!err && valid));
    } catch {
      resolve(false);
    }
  });
}
