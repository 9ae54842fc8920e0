import { encodeRevokedCertificate } from '../../pki/crl-der.js';
import type { RevokedEntry } from '../../store/revocations.js';

interface EncodedRevocation {
  der: Buffer;
  notAfter: number;
}

/**
 * The revocations one authority's next CRL lists, each encoded once and kept between CRLs, so
 * that signing a CRL after one more revocation costs a copy and a signature, not a re-encoding of
 * every entry. The list only grows until entries expire (RFC 5280 §3.3 lets them leave then).
 */
export class RevokedList {
  private readonly entries = new Map<string, EncodedRevocation>();
  private encoded: Buffer = Buffer.alloc(0);
  private appended: Buffer[] = [];
  private earliestNotAfter = Number.POSITIVE_INFINITY;

  get size(): number {
    return this.entries.size;
  }

  /** Add a revocation; one already listed is ignored (loads and catch-ups may overlap). */
  add(entry: RevokedEntry): void {
    if (this.entries.has(entry.serial)) return;
    const der = encodeRevokedCertificate({ serialHex: entry.serial, revokedAt: new Date(entry.revokedAt), reason: entry.reason });
    this.entries.set(entry.serial, { der, notAfter: entry.notAfter });
    this.appended.push(der);
    this.earliestNotAfter = Math.min(this.earliestNotAfter, entry.notAfter);
  }

  /** Drop the revocations of certificates that expired at or before `validAfter`. */
  dropExpired(validAfter: number): void {
    if (this.earliestNotAfter > validAfter) return;
    let earliest = Number.POSITIVE_INFINITY;
    for (const [serial, entry] of this.entries) {
      if (entry.notAfter <= validAfter) this.entries.delete(serial);
      else earliest = Math.min(earliest, entry.notAfter);
    }
    this.earliestNotAfter = earliest;
    this.encoded = Buffer.concat([...this.entries.values()].map((e) => e.der));
    this.appended = [];
  }

  /** The revokedCertificates content (concatenated entries). The buffer returned is never changed later. */
  der(): Buffer {
    if (this.appended.length) {
      this.encoded = Buffer.concat([this.encoded, ...this.appended]);
      this.appended = [];
    }
    return this.encoded;
  }
}
