/**
 * PKCS#10 certification requests (RFC 2986) in direct DER: the request Sigil's agent sends for
 * each workload key (empty subject, no attributes: the server takes only the key), and a strict
 * reader for requests from anyone. `createCsrWithLibrary` and `verifyCsrWithLibrary` in csr.ts
 * (@peculiar/x509) are the reference the tests compare with.
 */
import { checkNameForm } from './certificate-der.js';
import { DerError, derTag, derTlv, expectDer, readDer, readDerOctetAlignedBits, readDerOid, type DerNode } from './der.js';
import { expectAlgorithmIdentifier, readSubjectPublicKeyInfo } from './spki.js';

const versionV1 = Buffer.from('020100', 'hex');
const emptyName = Buffer.from('3000', 'hex');
const noAttributes = Buffer.from('a000', 'hex');

/** CertificationRequestInfo: v1, an empty subject, the key, an empty attribute set. */
export function encodeCertificationRequestInfo(subjectPublicKeyInfo: Uint8Array): Buffer {
  return derTlv(derTag.sequence, versionV1, emptyName, subjectPublicKeyInfo, noAttributes);
}

export function encodeCertificationRequest(certificationRequestInfo: Uint8Array, signatureAlgorithmDer: Uint8Array, signature: Uint8Array): Buffer {
  return derTlv(derTag.sequence, certificationRequestInfo, signatureAlgorithmDer, derTlv(derTag.bitString, Buffer.from([0]), signature));
}

export interface ParsedCsr {
  /** The signed bytes. */
  certificationRequestInfo: Uint8Array;
  subjectPublicKeyInfo: Uint8Array;
  /** The AlgorithmIdentifier, DER. */
  signatureAlgorithm: Uint8Array;
  signatureAlgorithmOid: string;
  signature: Uint8Array;
}

/** Attributes [0] IMPLICIT SET OF SEQUENCE { OID, SET OF values }: read for form only. */
function checkAttributesForm(buf: Uint8Array, attributes: DerNode): void {
  for (let p = attributes.contentStart; p < attributes.end; ) {
    const attribute = expectDer(buf, p, attributes.end, derTag.sequence, 'attribute');
    const type = expectDer(buf, attribute.contentStart, attribute.end, derTag.oid, 'attribute type');
    readDerOid(buf, type);
    const values = expectDer(buf, type.end, attribute.end, derTag.set, 'attribute values');
    if (values.end !== attribute.end) throw new DerError('attribute has extra fields', values.end);
    for (let q = values.contentStart; q < values.end; ) q = readDer(buf, q, values.end).end;
    p = attribute.end;
  }
}

/**
 * Read a DER CertificationRequest, refusing anything that is not exactly one: trailing bytes,
 * wrong tags, a version other than v1, a missing attribute set, unused bits in the signature.
 * The signature is returned, not checked.
 */
export function parseCsr(der: Uint8Array): ParsedCsr {
  const outer = expectDer(der, 0, der.length, derTag.sequence, 'CertificationRequest');
  if (outer.end !== der.length) throw new DerError('trailing bytes after the CSR', outer.end);
  const info = expectDer(der, outer.contentStart, outer.end, derTag.sequence, 'CertificationRequestInfo');
  const { node: algorithm, oid: signatureAlgorithmOid } = expectAlgorithmIdentifier(der, info.end, outer.end, 'signatureAlgorithm');
  const bits = readDer(der, algorithm.end, outer.end);
  if (bits.end !== outer.end) throw new DerError('extra fields in CertificationRequest', bits.end);
  const signature = readDerOctetAlignedBits(der, bits, 'signature');

  const version = expectDer(der, info.contentStart, info.end, derTag.integer, 'version');
  if (!Buffer.from(der.subarray(version.start, version.end)).equals(versionV1)) throw new DerError('version is not v1 (0)', version.start);
  const subject = expectDer(der, version.end, info.end, derTag.sequence, 'subject');
  checkNameForm(der, subject, 'subject');
  const spki = readDer(der, subject.end, info.end);
  readSubjectPublicKeyInfo(der, spki);
  if (spki.end === info.end) throw new DerError('the attributes field is missing (RFC 2986: it is not optional)', spki.end);
  const attributes = expectDer(der, spki.end, info.end, derTag.contextConstructed0, 'attributes');
  checkAttributesForm(der, attributes);
  if (attributes.end !== info.end) throw new DerError('extra fields in CertificationRequestInfo', attributes.end);

  return {
    certificationRequestInfo: der.subarray(info.start, info.end),
    subjectPublicKeyInfo: der.subarray(spki.start, spki.end),
    signatureAlgorithm: der.subarray(algorithm.start, algorithm.end),
    signatureAlgorithmOid,
    signature,
  };
}
