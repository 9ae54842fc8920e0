import { DerError, derTag, expectDer, expectDerInteger, readDer, readDerBoolean, readDerIntegerHex, readDerOctetAlignedBits, readDerOid, readDerTime, type DerNode } from './der.js';
import { expectAlgorithmIdentifier, readSubjectPublicKeyInfo } from './spki.js';

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

export interface CertificateExtension {
  oid: string;
  critical: boolean;
  /** extnValue: the OCTET STRING whose content is the extension's own DER. */
  value: DerNode;
}

/** The fields of an X.509 certificate as DER nodes of its buffer (RFC 5280 §4.1). */
export interface CertificateStructure {
  tbs: DerNode;
  serial: DerNode;
  signatureAlgorithm: DerNode;
  issuer: DerNode;
  notBefore: DerNode;
  notAfter: DerNode;
  subject: DerNode;
  subjectPublicKeyInfo: DerNode;
  subjectPublicKey: Uint8Array;
  /** Empty for a v1 or v2 certificate. */
  extensions: CertificateExtension[];
  signatureValue: Uint8Array;
}

/** Attribute values Sigil reads in names: the string types of X.520 and PKCS#9 (UTF8, Numeric, Printable, Teletex, IA5, Visible, Universal, BMP). */
const universalStringTag = 0x1c;
const bmpStringTag = 0x1e;
const nameValueTags = new Set([0x0c, 0x12, 0x13, 0x14, 0x16, 0x1a, universalStringTag, bmpStringTag]);

/** A Name (RFC 5280 §4.1.2.4): SEQUENCE OF non-empty SET OF SEQUENCE { OID, one string value }. */
export function checkNameForm(buf: Uint8Array, name: DerNode, what: string): void {
  for (let p = name.contentStart; p < name.end; ) {
    const rdn = expectDer(buf, p, name.end, derTag.set, what);
    if (rdn.end === rdn.contentStart) throw new DerError(`${what}: empty RelativeDistinguishedName`, rdn.start);
    for (let q = rdn.contentStart; q < rdn.end; ) {
      const attribute = expectDer(buf, q, rdn.end, derTag.sequence, what);
      const type = expectDer(buf, attribute.contentStart, attribute.end, derTag.oid, what);
      readDerOid(buf, type);
      const value = readDer(buf, type.end, attribute.end);
      if (!nameValueTags.has(value.tag)) throw new DerError(`${what}: attribute value is not a string (tag 0x${value.tag.toString(16)})`, value.start);
      const unit = value.tag === universalStringTag ? 4 : value.tag === bmpStringTag ? 2 : 1;
      if ((value.end - value.contentStart) % unit !== 0) throw new DerError(`${what}: a ${unit}-byte string has a partial character`, value.start);
      if (value.end !== attribute.end) throw new DerError(`${what}: attribute has extra fields`, attribute.start);
      q = attribute.end;
    }
    p = rdn.end;
  }
}

function readExtensions(buf: Uint8Array, wrapper: DerNode): CertificateExtension[] {
  const list = expectDer(buf, wrapper.contentStart, wrapper.end, derTag.sequence, 'extensions');
  if (list.end !== wrapper.end) throw new DerError('extra bytes after the extensions', list.end);
  if (list.end === list.contentStart) throw new DerError('empty extensions (RFC 5280: SIZE (1..MAX))', list.start);
  const extensions: CertificateExtension[] = [];
  for (let p = list.contentStart; p < list.end; ) {
    const extension = expectDer(buf, p, list.end, derTag.sequence, 'extension');
    const id = expectDer(buf, extension.contentStart, extension.end, derTag.oid, 'extnID');
    let node = readDer(buf, id.end, extension.end);
    let critical = false;
    if (node.tag === derTag.boolean) {
      critical = readDerBoolean(buf, node);
      if (!critical) throw new DerError('critical FALSE is the default and is not encoded in DER', node.start);
      node = readDer(buf, node.end, extension.end);
    }
    if (node.tag !== derTag.octetString) throw new DerError('extnValue is not an OCTET STRING', node.start);
    if (node.end !== extension.end) throw new DerError('extension has extra fields', node.end);
    const oid = readDerOid(buf, id);
    if (extensions.some((e) => e.oid === oid)) throw new DerError('certificate contains duplicate extensions', extension.start);
    extensions.push({ oid, critical, value: node });
    p = extension.end;
  }
  return extensions;
}

/**
 * A strict DER walk of a whole certificate: every TBSCertificate field in order, no trailing
 * bytes, the outer signature algorithm equal to the inner one (RFC 5280 §4.1.1.2). Names and
 * the public key are checked for form only; extension values are left to the caller.
 */
export function readCertificateStructure(der: Uint8Array): CertificateStructure {
  const outer = expectDer(der, 0, der.length, derTag.sequence, 'Certificate');
  if (outer.end !== der.length) throw new DerError('trailing bytes after the certificate', outer.end);
  const tbs = expectDer(der, outer.contentStart, outer.end, derTag.sequence, 'TBSCertificate');
  const outerAlgorithm = expectAlgorithmIdentifier(der, tbs.end, outer.end, 'signatureAlgorithm').node;
  const bits = readDer(der, outerAlgorithm.end, outer.end);
  if (bits.end !== outer.end) throw new DerError('extra fields in Certificate', bits.end);
  const signatureValue = readDerOctetAlignedBits(der, bits, 'signatureValue');

  let p = tbs.contentStart;
  let version = 0;
  const first = readDer(der, p, tbs.end);
  if (first.tag === derTag.contextConstructed0) {
    const value = expectDerInteger(der, first.contentStart, first.end, 'version');
    if (value.end !== first.end || value.end - value.contentStart !== 1) throw new DerError('version: not a one-byte INTEGER', first.start);
    version = der[value.contentStart] as number;
    if (version !== 1 && version !== 2) throw new DerError(`version: ${version} is not v2 or v3 (v1 is the default, not encoded in DER)`, first.start);
    p = first.end;
  }
  const serial = expectDerInteger(der, p, tbs.end, 'serialNumber');
  const signatureAlgorithm = expectDer(der, serial.end, tbs.end, derTag.sequence, 'signature');
  if (!Buffer.from(der.subarray(signatureAlgorithm.start, signatureAlgorithm.end)).equals(der.subarray(outerAlgorithm.start, outerAlgorithm.end))) {
    throw new DerError('signatureAlgorithm differs from the TBSCertificate signature field', outerAlgorithm.start);
  }
  const issuer = expectDer(der, signatureAlgorithm.end, tbs.end, derTag.sequence, 'issuer');
  checkNameForm(der, issuer, 'issuer');
  const validity = expectDer(der, issuer.end, tbs.end, derTag.sequence, 'validity');
  const notBefore = readDer(der, validity.contentStart, validity.end);
  const notAfter = readDer(der, notBefore.end, validity.end);
  if (notAfter.end !== validity.end) throw new DerError('extra fields in validity', notAfter.end);
  readDerTime(der, notBefore);
  readDerTime(der, notAfter);
  const subject = expectDer(der, validity.end, tbs.end, derTag.sequence, 'subject');
  checkNameForm(der, subject, 'subject');
  const subjectPublicKeyInfo = readDer(der, subject.end, tbs.end);
  const { subjectPublicKey } = readSubjectPublicKeyInfo(der, subjectPublicKeyInfo);

  let extensions: CertificateExtension[] = [];
  p = subjectPublicKeyInfo.end;
  for (const uniqueIdTag of [0x81, 0x82]) {
    if (p < tbs.end && der[p] === uniqueIdTag) {
      if (version === 0) throw new DerError('unique identifiers need v2 or v3', p);
      p = readDer(der, p, tbs.end).end;
    }
  }
  if (p < tbs.end) {
    const wrapper = expectDer(der, p, tbs.end, derTag.contextConstructed3, 'extensions');
    if (version !== 2) throw new DerError('extensions need v3', p);
    extensions = readExtensions(der, wrapper);
    p = wrapper.end;
  }
  if (p !== tbs.end) throw new DerError('extra fields in TBSCertificate', p);
  return { tbs, serial, signatureAlgorithm, issuer, notBefore, notAfter, subject, subjectPublicKeyInfo, subjectPublicKey, extensions, signatureValue };
}
