import type { TrustState } from '../../common/grpc/agent-api-types.js';
import type { CrlRecord } from '../../store/crls.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';

/** The trust state message with a short fingerprint that says when it changed. */
export interface TrustSnapshot {
  message: TrustState;
  fingerprint: string;
}

/** A view of DER bytes as a Buffer, without copying (a CRL may be megabytes). */
const asBuffer = (der: Uint8Array): Buffer => Buffer.from(der.buffer, der.byteOffset, der.byteLength);

/**
 * The trust state every agent stream sends, built once per change and shared: the fingerprint
 * names the tainted authorities and the CRL numbers, so streams compare a few bytes, not CRLs.
 */
export function trustSnapshots(ca: CertificateAuthority, currentCrls: () => CrlRecord[]): () => TrustSnapshot {
  let last: TrustSnapshot | undefined;
  return () => {
    const taintedX509 = ca.authorities.taintedX509CertificatesDer();
    const taintedJwtKids = ca.authorities.taintedJwtKids();
    const crls = currentCrls();
    const fingerprint = [
      taintedX509.map((d) => asBuffer(d).subarray(-32).toString('base64')).join(','),
      taintedJwtKids.join(','),
      crls.map((c) => `${c.authorityId}#${c.crlNumber}`).join(','),
    ].join('|');
    if (last?.fingerprint !== fingerprint) {
      last = { fingerprint, message: { tainted_x509_authorities: taintedX509.map(asBuffer), tainted_jwt_kids: taintedJwtKids, crls: crls.map((c) => asBuffer(c.der)) } };
    }
    return last;
  };
}
