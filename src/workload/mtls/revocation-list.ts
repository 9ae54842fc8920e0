/**
 * The revoked certificates named by the CRLs the Workload API sends in its `crl` field. A CRL
 * counts only when a CA we trust signed it: a CA of the bundles, or a signing intermediate the
 * agent handed out in an SVID chain (with an upstream CA, Sigil's own CA is one). Serial numbers
 * are unique per issuer only, so a certificate is looked up by its issuer name and serial.
 */
import { X509Certificate, verify as verifySignature } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate, CertificateList, CRLReason, CRLReasons, id_ce_cRLReasons, type Name } from '@peculiar/asn1-x509';
import { normalizeSerialHex } from '../../pki/serial.js';

export interface Revocation {
  /** Lowercase hex, no leading zero bytes. */
  serial: string;
  revokedAt: Date;
  /** RFC 5280 reason name: keyCompromise, superseded, … ("unspecified" when the entry gives none). */
  reason: string;
}

/** Hash of each signature algorithm a Sigil CA or an upstream CA may use; null: the key type fixes it (Ed25519). */
const signatureHashes: Record<string, string | null> = {
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.3.101.112': null,
};

export function serialHex(bytes: ArrayBuffer): string {
  return normalizeSerialHex(Buffer.from(bytes).toString('hex'));
}

const nameKey = (name: Name): string => Buffer.from(AsnConvert.serialize(name)).toString('hex');
const revocationKey = (issuer: string, serial: string): string => `${issuer}/${serial}`;

interface TrustedIssuer {
  subject: string;
  certificate: X509Certificate;
}

export class RevocationList {
  static readonly empty = new RevocationList(new Map(), [], 0);

  private constructor(
    private readonly revoked: ReadonlyMap<string, Revocation>,
    /** Why a CRL was left out (it does not parse, or no trusted CA signed it). */
    readonly problems: readonly string[],
    /** How many CRLs were accepted. */
    readonly crlCount: number,
  ) {}

  /** `issuersDer`: every CA certificate trusted to sign a CRL. */
  static fromCrls(crlsDer: readonly Uint8Array[], issuersDer: readonly Uint8Array[]): RevocationList {
    const issuers = trustedIssuers(issuersDer);
    const revoked = new Map<string, Revocation>();
    const problems: string[] = [];
    let accepted = 0;
    crlsDer.forEach((der, index) => {
      let crl: CertificateList;
      try {
        crl = AsnConvert.parse(der, CertificateList);
      } catch (err) {
        problems.push(`CRL ${index + 1} does not parse: ${(err as Error).message}`);
        return;
      }
      const issuer = nameKey(crl.tbsCertList.issuer);
      if (!issuers.some((candidate) => candidate.subject === issuer && signedBy(crl, candidate.certificate))) {
        problems.push(`CRL ${index + 1} is not signed by a trusted CA`);
        return;
      }
      accepted += 1;
      for (const entry of crl.tbsCertList.revokedCertificates ?? []) {
        const serial = serialHex(entry.userCertificate);
        revoked.set(revocationKey(issuer, serial), { serial, revokedAt: entry.revocationDate.getTime(), reason: reasonOf(entry.crlEntryExtensions ?? []) });
      }
    });
    return new RevocationList(revoked, problems, accepted);
  }

  /** How many revoked certificates the CRLs name. */
  get size(): number {
    return this.revoked.size;
  }

  /** The revocation of the certificate (DER), if a trusted CRL lists it. */
  revocationOf(certDer: Uint8Array): Revocation | undefined {
    const tbs = AsnConvert.parse(certDer, Certificate).tbsCertificate;
    return this.revoked.get(revocationKey(nameKey(tbs.issuer), serialHex(tbs.serialNumber)));
  }

  isRevoked(certDer: Uint8Array): boolean {
    return this.revocationOf(certDer) !== undefined;
  }
}

function trustedIssuers(issuersDer: readonly Uint8Array[]): TrustedIssuer[] {
  return issuersDer.map((der) => ({ subject: nameKey(AsnConvert.parse(der, Certificate).tbsCertificate.subject), certificate: new X509Certificate(der) }));
}

function signedBy(crl: CertificateList, issuer: X509Certificate): boolean {
  const hash = signatureHashes[crl.signatureAlgorithm.algorithm];
  if (hash === undefined || crl.tbsCertListRaw === undefined) return false;
  try {
    return verifySignature(hash, Buffer.from(crl.tbsCertListRaw), issuer.publicKey, Buffer.from(crl.signature));
  } catch {
    return false;
  }
}

function reasonOf(extensions: readonly { extnID: string; extnValue: { buffer: ArrayBuffer } }[]): string {
  const extension = extensions.find((ext) => ext.extnID === id_ce_cRLReasons);
  if (!extension) return 'unspecified';
  return CRLReasons[AsnConvert.parse(extension.extnValue.buffer, CRLReason).reason] ?? 'unspecified';
}
