/**
 * The revoked certificates named by the CRLs the Workload API sends in its `crl` field. A CRL
 * counts only when a CA we trust signed it: a CA of the bundles, or a signing intermediate the
 * agent handed out in an SVID chain (with an upstream CA, Sigil's own CA is one). Serial numbers
 * are unique per issuer only, so a certificate is looked up by its issuer name and serial.
 */
import { X509Certificate, verify as verifySignature } from 'node:crypto';
import { certificateNames } from '../../pki/certificate-der.js';
import { parseCrl, type ParsedCrl } from '../../pki/crl-der.js';

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

const nameKey = (nameDer: Uint8Array): string => Buffer.from(nameDer).toString('hex');
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
      let crl: ParsedCrl;
      try {
        crl = parseCrl(der);
      } catch (err) {
        problems.push(`CRL ${index + 1} does not parse: ${(err as Error).message}`);
        return;
      }
      const issuer = nameKey(crl.issuerNameDer);
      if (!issuers.some((candidate) => candidate.subject === issuer && signedBy(crl, candidate.certificate))) {
        problems.push(`CRL ${index + 1} is not signed by a trusted CA`);
        return;
      }
      accepted += 1;
      for (const entry of crl.revoked) {
        revoked.set(revocationKey(issuer, entry.serialHex), { serial: entry.serialHex, revokedAt: new Date(entry.revokedAt), reason: entry.reason });
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
    const names = certificateNames(certDer);
    return this.revoked.get(revocationKey(nameKey(names.issuerNameDer), names.serialHex));
  }

  isRevoked(certDer: Uint8Array): boolean {
    return this.revocationOf(certDer) !== undefined;
  }
}

function trustedIssuers(issuersDer: readonly Uint8Array[]): TrustedIssuer[] {
  return issuersDer.map((der) => ({ subject: nameKey(certificateNames(der).subjectNameDer), certificate: new X509Certificate(der) }));
}

function signedBy(crl: ParsedCrl, issuer: X509Certificate): boolean {
  const hash = signatureHashes[crl.signatureAlgorithmOid];
  if (hash === undefined) return false;
  try {
    return verifySignature(hash, crl.tbsDer, issuer.publicKey, crl.signature);
  } catch {
    return false;
  }
}
