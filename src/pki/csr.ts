import { KeyObject } from 'node:crypto';
import { x509 } from './crypto-provider.js';
import { encodeCertificationRequest, encodeCertificationRequestInfo, parseCsr, type ParsedCsr } from './csr-der.js';
import { DerError } from './der.js';
import { importPublicKeySpki, keyAlgorithmOf, signatureAlgorithmFor, type KeyAlgorithm } from './keys.js';
import { ownBytes, pemDecodeAll } from './pem.js';
import { csrSignatureAlgorithm, signOffLoop, signatureProfiles, verifyOffLoop } from './signature-profile.js';
import { publicKeyOfSpki, spkiDerOf } from './spki.js';

export interface VerifiedCsr {
  algorithm: KeyAlgorithm;
  /** The requester's public key, SubjectPublicKeyInfo DER (re-encoded by OpenSSL, so canonical). */
  subjectPublicKeyInfo: Uint8Array;
}

export class CsrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrError';
  }
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

function csrDer(input: string | Uint8Array): Uint8Array {
  if (typeof input !== 'string') return input;
  const block = pemDecodeAll(input).find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
  if (!block) throw new CsrError('csr: no PEM block labelled "CERTIFICATE REQUEST" found');
  return block.der;
}

function parse(der: Uint8Array): ParsedCsr {
  try {
    return parseCsr(der);
  } catch (err) {
    if (err instanceof DerError) throw new CsrError(`csr: cannot parse PKCS#10 request: ${err.message}`);
    throw err;
  }
}

/**
 * Parse a PKCS#10 request (PEM or DER) and check its self-signature, which proves the caller
 * holds the private key. Only the public key is used: names in the CSR are ignored on purpose,
 * the SPIFFE ID and DNS names always come from the registration entry. Every refusal is a
 * CsrError whose message starts with "csr: ". With `importKey`, the key also comes as a CryptoKey.
 */
export async function verifyCsr(input: string | Uint8Array): Promise<VerifiedCsr>;
export async function verifyCsr(input: string | Uint8Array, options: { importKey: true }): Promise<VerifiedCsr & { publicKey: CryptoKey }>;
export async function verifyCsr(input: string | Uint8Array, options: { importKey?: boolean } = {}): Promise<VerifiedCsr & { publicKey?: CryptoKey }> {
  const csr = parse(csrDer(input));
  let key: KeyObject;
  try {
    key = publicKeyOfSpki(csr.subjectPublicKeyInfo);
  } catch (err) {
    throw new CsrError(`csr: cannot parse PKCS#10 request: the public key: ${errorText(err)}`);
  }
  let algorithm: KeyAlgorithm;
  try {
    algorithm = keyAlgorithmOf(key);
  } catch (err) {
    throw new CsrError(`csr: ${errorText(err)}`);
  }
  const signatureAlgorithm = csrSignatureAlgorithm(csr.signatureAlgorithm);
  if (!signatureAlgorithm) throw new CsrError(`csr: unsupported signature algorithm ${csr.signatureAlgorithmOid} (supported: ECDSA and RSA PKCS#1 v1.5 with SHA-256/384/512)`);
  if (signatureAlgorithm.keyType !== key.asymmetricKeyType) {
    throw new CsrError(`csr: a ${signatureAlgorithm.keyType.toUpperCase()} signature algorithm does not fit a ${(key.asymmetricKeyType ?? 'unknown').toUpperCase()} key`);
  }
  if (!(await verifyOffLoop(signatureAlgorithm.hash, csr.certificationRequestInfo, key, csr.signature))) {
    throw new CsrError('csr: signature does not verify (no proof of possession of the private key)');
  }
  const verified = { algorithm, subjectPublicKeyInfo: new Uint8Array(spkiDerOf(key)) };
  if (!options.importKey) return verified;
  return { ...verified, publicKey: (await importPublicKeySpki(verified.subjectPublicKeyInfo)).publicKey };
}

/** Build a CSR for a key pair, in direct DER (agents and tests use this). The signature algorithm follows the key, as for certificates. */
export async function createCsr(keys: { privateKey: CryptoKey; publicKey: CryptoKey }): Promise<Uint8Array> {
  const privateKey = KeyObject.from(keys.privateKey);
  const profile = signatureProfiles[keyAlgorithmOf(privateKey)];
  const info = encodeCertificationRequestInfo(spkiDerOf(keys.publicKey));
  const der = encodeCertificationRequest(info, profile.algorithmDer, await signOffLoop(profile.hash, info, privateKey));
  // A copy that owns its ArrayBuffer: small Buffers share Node's pool.
  return new Uint8Array(der);
}

/** The reference implementation of verifyCsr with @peculiar/x509, for tests and the benchmark only. */
export async function verifyCsrWithLibrary(input: string | Uint8Array): Promise<{ algorithm: KeyAlgorithm; publicKey: CryptoKey }> {
  const der = csrDer(input);
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(ownBytes(der));
  } catch (err) {
    throw new CsrError(`csr: cannot parse PKCS#10 request: ${errorText(err)}`);
  }
  let valid = false;
  try {
    valid = await csr.verify();
  } catch {
    valid = false;
  }
  if (!valid) throw new CsrError('csr: signature does not verify (no proof of possession of the private key)');
  try {
    return await importPublicKeySpki(new Uint8Array(csr.publicKey.rawData));
  } catch (err) {
    throw new CsrError(`csr: ${errorText(err)}`);
  }
}

/** The reference implementation of createCsr with @peculiar/x509, for tests and the benchmark only. */
export async function createCsrWithLibrary(keys: { algorithm: KeyAlgorithm; privateKey: CryptoKey; publicKey: CryptoKey }): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: signatureAlgorithmFor(keys.algorithm),
  });
  return new Uint8Array(csr.rawData);
}
