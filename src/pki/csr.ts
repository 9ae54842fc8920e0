import { x509 } from './crypto-provider.js';
import { importPublicKeySpki, type KeyAlgorithm } from './keys.js';
import { ownBytes, pemDecodeAll } from './pem.js';

export interface VerifiedCsr {
  algorithm: KeyAlgorithm;
  publicKey: CryptoKey;
}

export class CsrError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CsrError';
  }
}

/**
 * Parse a PKCS#10 request (PEM or DER) and check its self-signature, which proves the caller
 * holds the private key. Only the public key is used: names in the CSR are ignored on purpose,
 * the SPIFFE ID and DNS names always come from the registration entry.
 */
export async function verifyCsr(input: string | Uint8Array): Promise<VerifiedCsr> {
  let der: Uint8Array;
  if (typeof input === 'string') {
    const block = pemDecodeAll(input).find((b) => b.label === 'CERTIFICATE REQUEST' || b.label === 'NEW CERTIFICATE REQUEST');
    if (!block) throw new CsrError('csr: no PEM block labelled "CERTIFICATE REQUEST" found');
    der = block.der;
  } else {
    der = input;
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(ownBytes(der));
  } catch (err) {
    throw new CsrError(`csr: cannot parse PKCS#10 request: ${err instanceof Error ? err.message : String(err)}`);
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
    throw new CsrError(`csr: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** Build a CSR for a key pair (agents and tests use this). */
export async function createCsr(keys: { privateKey: CryptoKey; publicKey: CryptoKey }, signingAlgorithm: Algorithm | EcdsaParams): Promise<Uint8Array> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm,
  });
  return new Uint8Array(csr.rawData);
}
