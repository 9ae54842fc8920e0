/**
 * Builds certificates for the SPIFFE profile tests: a correct SPIFFE CA and leaf by default, and
 * any single property bent by an override, so each test breaks exactly one rule.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(globalThis.crypto);

export const EC_P256: EcKeyGenParams & EcdsaParams = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
export const RSA_2048: RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};

export const KU = x509.KeyUsageFlags;
export const EKU_SERVER_AUTH = x509.ExtendedKeyUsage.serverAuth as string;
export const EKU_CLIENT_AUTH = x509.ExtendedKeyUsage.clientAuth as string;
export const EKU_CODE_SIGNING = x509.ExtendedKeyUsage.codeSigning as string;

/** Every test certificate is valid for exactly this day, so tests pass an `at` inside it. */
export const NOT_BEFORE = new Date('2030-01-01T00:00:00Z');
export const NOT_AFTER = new Date('2030-01-02T00:00:00Z');
export const DURING_VALIDITY = new Date('2030-01-01T12:00:00Z');

export interface CertSpec {
  /** RFC 4514 string; '' for an empty subject. */
  subject: string;
  uris: string[];
  dnsNames: string[];
  sanCritical: boolean;
  /** null leaves the extension out. */
  basicConstraints: { ca: boolean; pathLength?: number; critical: boolean } | null;
  keyUsage: { flags: number; critical: boolean } | null;
  extKeyUsage: string[] | null;
  notBefore: Date;
  notAfter: Date;
  /** Appended after the generated extensions, e.g. to duplicate one. */
  extraExtensions: x509.Extension[];
}

export interface Issued {
  cert: x509.X509Certificate;
  der: Uint8Array;
  keys: CryptoKeyPair;
}

export function caSpec(trustDomain = 'example.org', overrides: Partial<CertSpec> = {}): CertSpec {
  return {
    subject: 'C=US, O=SPIFFE',
    uris: [`spiffe://${trustDomain}`],
    dnsNames: [],
    sanCritical: false,
    basicConstraints: { ca: true, critical: true },
    keyUsage: { flags: KU.keyCertSign | KU.cRLSign, critical: true },
    extKeyUsage: null,
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    extraExtensions: [],
    ...overrides,
  };
}

export function leafSpec(id = 'spiffe://example.org/workload', overrides: Partial<CertSpec> = {}): CertSpec {
  return {
    subject: 'C=US, O=SPIRE',
    uris: [id],
    dnsNames: [],
    sanCritical: false,
    basicConstraints: { ca: false, critical: true },
    keyUsage: { flags: KU.digitalSignature | KU.keyEncipherment | KU.keyAgreement, critical: true },
    extKeyUsage: [EKU_SERVER_AUTH, EKU_CLIENT_AUTH],
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    extraExtensions: [],
    ...overrides,
  };
}

export async function generateKeys(algorithm: EcKeyGenParams | RsaHashedKeyGenParams = EC_P256): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as CryptoKeyPair;
}

/** Issues `spec` signed by `issuer`, or self-signed when no issuer is given. */
export async function issue(
  spec: CertSpec,
  issuer?: Issued,
  keys?: CryptoKeyPair,
): Promise<Issued> {
  const ownKeys = keys ?? (await generateKeys());
  const signer = issuer?.keys ?? ownKeys;
  const extensions: x509.Extension[] = [];
  if (spec.basicConstraints) {
    const bc = spec.basicConstraints;
    extensions.push(new x509.BasicConstraintsExtension(bc.ca, bc.pathLength, bc.critical));
  }
  if (spec.keyUsage) extensions.push(new x509.KeyUsagesExtension(spec.keyUsage.flags, spec.keyUsage.critical));
  if (spec.extKeyUsage) extensions.push(new x509.ExtendedKeyUsageExtension(spec.extKeyUsage, false));
  const names = [
    ...spec.uris.map((value) => ({ type: 'url' as const, value })),
    ...spec.dnsNames.map((value) => ({ type: 'dns' as const, value })),
  ];
  if (names.length > 0) extensions.push(new x509.SubjectAlternativeNameExtension(names, spec.sanCritical));
  extensions.push(await x509.SubjectKeyIdentifierExtension.create(ownKeys.publicKey));
  extensions.push(await x509.AuthorityKeyIdentifierExtension.create(signer.publicKey));
  extensions.push(...spec.extraExtensions);

  const cert = await x509.X509CertificateGenerator.create({
    subject: spec.subject,
    issuer: issuer ? issuer.cert.subjectName : spec.subject,
    notBefore: spec.notBefore,
    notAfter: spec.notAfter,
    publicKey: ownKeys.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: signer.privateKey.algorithm,
    extensions,
  });
  return { cert, der: new Uint8Array(cert.rawData), keys: ownKeys };
}

export async function pkcs8Of(keys: CryptoKeyPair): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.exportKey('pkcs8', keys.privateKey));
}

export async function publicJwkOf(keys: CryptoKeyPair): Promise<JsonWebKey> {
  return crypto.subtle.exportKey('jwk', keys.publicKey);
}
