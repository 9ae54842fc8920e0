import { x509 } from './crypto-provider.js';
import { signatureAlgorithmFor, type KeyPair } from './keys.js';
import { leafIssuerTemplate, mintX509LeafDer } from './leaf-der.js';
import { randomSerialHex } from './serial.js';
import { ownBytes, pemDecodeAll } from './pem.js';
import { spkiDerOf } from './spki.js';

export interface CertificateIssuer {
  certificate: x509.X509Certificate;
  keys: KeyPair;
}

export interface CaCertificateParams {
  trustDomain: string;
  /** Subject distinguished name, e.g. "C=US, O=Sigil". A serialNumber RDN is appended as SPIRE does. */
  subject: string;
  notBefore: Date;
  notAfter: Date;
  serialHex?: string;
}

export interface LeafCertificateParams {
  spiffeId: string;
  dnsNames: readonly string[];
  subjectPublicKey: CryptoKey;
  issuer: CertificateIssuer;
  notBefore: Date;
  notAfter: Date;
  serialHex?: string;
}

const leafKeyUsages = x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment | x509.KeyUsageFlags.keyAgreement;
const caKeyUsages = x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign;

function caExtensions(trustDomain: string): x509.Extension[] {
  // CA profile of spec §2.5/§8.7: cA=true and keyCertSign|cRLSign (no digitalSignature), both critical,
  // URI SAN spiffe://<td> with no path.
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(caKeyUsages, true),
    new x509.SubjectAlternativeNameExtension([{ type: 'url', value: `spiffe://${trustDomain}` }], false),
  ];
}

function subjectWithSerial(subject: string, serialHex: string): string {
  return `${subject}, 2.5.4.5=${serialHex}`;
}

export async function createSelfSignedCaCertificate(keys: KeyPair, params: CaCertificateParams): Promise<x509.X509Certificate> {
  const serialNumber = params.serialHex ?? randomSerialHex();
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber,
    name: subjectWithSerial(params.subject, serialNumber),
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    keys: { privateKey: keys.privateKey, publicKey: keys.publicKey },
    signingAlgorithm: signatureAlgorithmFor(keys.algorithm),
    extensions: [
      ...caExtensions(params.trustDomain),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
}

/** A signing CA certificate for `subjectKeys`, signed by an upstream CA (Sigil as an intermediate). */
export async function createIntermediateCaCertificate(
  subjectKeys: KeyPair,
  issuer: CertificateIssuer,
  params: CaCertificateParams,
): Promise<x509.X509Certificate> {
  const serialNumber = params.serialHex ?? randomSerialHex();
  return x509.X509CertificateGenerator.create({
    serialNumber,
    subject: subjectWithSerial(params.subject, serialNumber),
    issuer: issuer.certificate.subjectName,
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    publicKey: subjectKeys.publicKey,
    signingKey: issuer.keys.privateKey,
    signingAlgorithm: signatureAlgorithmFor(issuer.keys.algorithm),
    extensions: [
      ...caExtensions(params.trustDomain),
      await x509.SubjectKeyIdentifierExtension.create(subjectKeys.publicKey),
      await authorityKeyIdOf(issuer.certificate),
    ],
  });
}

/** The AKI pointing at `issuer`: its SKI when it has one, else computed from its key. */
export async function authorityKeyIdOf(issuer: x509.X509Certificate): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = issuer.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey);
}

/**
 * Mint one X509-SVID leaf for a CryptoKey, through the DER fast path (leaf-der.ts). Builds the
 * issuer template on every call: callers that mint many leaves keep a `leafIssuerTemplate` and
 * call `mintX509LeafDer` with SPKI bytes instead.
 */
export async function mintX509Leaf(params: LeafCertificateParams): Promise<x509.X509Certificate> {
  const template = leafIssuerTemplate(certificateDer(params.issuer.certificate), params.issuer.keys.privateKey);
  const leaf = await mintX509LeafDer(template, {
    spiffeId: params.spiffeId,
    dnsNames: params.dnsNames,
    subjectPublicKeyInfo: spkiDerOf(params.subjectPublicKey),
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    serialHex: params.serialHex,
  });
  return parseCertificateDer(leaf.der);
}

/**
 * The reference implementation of leaf minting with @peculiar/x509, which tests compare the fast
 * path with byte for byte (and the benchmark measures beside it); not for production use (~276/s).
 * Profile of spec §8.6: one URI SAN, cA=false critical, KeyUsage critical with
 * digitalSignature|keyEncipherment|keyAgreement, EKU serverAuth+clientAuth.
 */
export async function mintX509LeafWithLibrary(params: LeafCertificateParams): Promise<x509.X509Certificate> {
  const firstDns = params.dnsNames[0];
  const subject = firstDns ? `C=US, O=Sigil, CN=${firstDns}` : 'C=US, O=Sigil';
  const names: x509.JsonGeneralName[] = [
    { type: 'url', value: params.spiffeId },
    ...params.dnsNames.map((value) => ({ type: 'dns' as const, value })),
  ];
  return x509.X509CertificateGenerator.create({
    serialNumber: params.serialHex ?? randomSerialHex(),
    subject,
    issuer: params.issuer.certificate.subjectName,
    notBefore: params.notBefore,
    notAfter: params.notAfter,
    publicKey: params.subjectPublicKey,
    signingKey: params.issuer.keys.privateKey,
    signingAlgorithm: signatureAlgorithmFor(params.issuer.keys.algorithm),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(leafKeyUsages, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth], false),
      new x509.SubjectAlternativeNameExtension(names, false),
      await x509.SubjectKeyIdentifierExtension.create(params.subjectPublicKey),
      await authorityKeyIdOf(params.issuer.certificate),
    ],
  });
}

export function certificateDer(cert: x509.X509Certificate): Uint8Array {
  return new Uint8Array(cert.rawData);
}

export function parseCertificateDer(der: Uint8Array): x509.X509Certificate {
  return new x509.X509Certificate(ownBytes(der));
}

export function parseCertificatesPem(pem: string): x509.X509Certificate[] {
  return pemDecodeAll(pem)
    .filter((b) => b.label === 'CERTIFICATE')
    .map((b) => parseCertificateDer(b.der));
}

/** Serial in the lowercase hex form we store and print. */
export function serialHexOf(cert: x509.X509Certificate): string {
  return cert.serialNumber.toLowerCase();
}
