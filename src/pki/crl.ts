import { AsnConvert } from '@peculiar/asn1-schema';
import { CRLNumber, id_ce_cRLNumber } from '@peculiar/asn1-x509';
import type { CertificateIssuer } from './certificates.js';
import { x509 } from './crypto-provider.js';
import { signatureAlgorithmFor } from './keys.js';
import { ownBytes, pemEncode } from './pem.js';
import { authorityKeyIdOf } from './certificates.js';

/** The RFC 5280 §5.3.1 reasons an operator may give (certificateHold and removeFromCRL are not offered: revocation is final). */
export const revocationReasons = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const;
export type RevocationReason = (typeof revocationReasons)[number];

export function isRevocationReason(value: string): value is RevocationReason {
  return (revocationReasons as readonly string[]).includes(value);
}

/** OpenSSL reads only this label; @peculiar/x509's own PEM ("CRL") is rejected by it. */
export const crlPemLabel = 'X509 CRL';

export interface RevokedSerial {
  /** Lowercase hex, as stored. */
  serialHex: string;
  revokedAt: Date;
  reason: RevocationReason;
}

export interface CrlParams {
  issuer: CertificateIssuer;
  /** CRL Number (RFC 5280 §5.2.3): strictly increasing per issuer; the caller keeps the count. */
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  revoked: readonly RevokedSerial[];
}

function crlNumberExtension(crlNumber: number): x509.Extension {
  if (!Number.isSafeInteger(crlNumber) || crlNumber < 1) throw new Error(`CRL Number must be a positive integer, got ${crlNumber}`);
  return new x509.Extension(id_ce_cRLNumber, false, AsnConvert.serialize(new CRLNumber(crlNumber)));
}

/** A signed X.509 v2 CRL (DER) with CRL Number, AKI and a reason code on each entry (none for "unspecified", RFC 5280 §5.3.1). */
export async function createCrl(params: CrlParams): Promise<Uint8Array> {
  const crl = await x509.X509CrlGenerator.create({
    issuer: params.issuer.certificate.subjectName,
    thisUpdate: params.thisUpdate,
    nextUpdate: params.nextUpdate,
    signingKey: params.issuer.keys.privateKey,
    signingAlgorithm: signatureAlgorithmFor(params.issuer.keys.algorithm),
    extensions: [await authorityKeyIdOf(params.issuer.certificate), crlNumberExtension(params.crlNumber)],
    entries: params.revoked.map((r) => ({
      serialNumber: r.serialHex,
      revocationDate: r.revokedAt,
      ...(r.reason !== 'unspecified' && { reason: x509.X509CrlReason[r.reason] }),
    })),
  });
  return new Uint8Array(crl.rawData);
}

export function crlPem(der: Uint8Array): string {
  return pemEncode(crlPemLabel, der);
}

export function parseCrlDer(der: Uint8Array): x509.X509Crl {
  return new x509.X509Crl(ownBytes(der));
}

/** The CRL Number of a parsed CRL, or undefined if it has none. */
export function crlNumberOf(crl: x509.X509Crl): number | undefined {
  const ext = crl.extensions.find((e) => e.type === id_ce_cRLNumber);
  // Typed as number, but asn1-schema hands back a decimal string for values past 32 bits.
  return ext ? Number(AsnConvert.parse(ext.value, CRLNumber).value) : undefined;
}
