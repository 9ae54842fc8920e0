import { derTag, expectDer, readDer, readDerIntegerHex } from './der.js';

export interface CertificateNames {
  /** Lowercase hex without leading zero bytes. */
  serialHex: string;
  issuerNameDer: Uint8Array;
  subjectNameDer: Uint8Array;
}

/** Serial, issuer and subject of a DER certificate as raw bytes, read without a full parse (RFC 5280 §4.1). */
export function certificateNames(der: Uint8Array): CertificateNames {
  const outer = expectDer(der, 0, der.length, derTag.sequence, 'Certificate');
  const tbs = expectDer(der, outer.contentStart, outer.end, derTag.sequence, 'TBSCertificate');
  let node = readDer(der, tbs.contentStart, tbs.end);
  if (node.tag === derTag.contextConstructed0) node = readDer(der, node.end, tbs.end);
  const serial = node;
  const signature = expectDer(der, serial.end, tbs.end, derTag.sequence, 'signature');
  const issuer = expectDer(der, signature.end, tbs.end, derTag.sequence, 'issuer');
  const validity = expectDer(der, issuer.end, tbs.end, derTag.sequence, 'validity');
  const subject = expectDer(der, validity.end, tbs.end, derTag.sequence, 'subject');
  return {
    serialHex: readDerIntegerHex(der, serial),
    issuerNameDer: der.subarray(issuer.start, issuer.end),
    subjectNameDer: der.subarray(subject.start, subject.end),
  };
}
