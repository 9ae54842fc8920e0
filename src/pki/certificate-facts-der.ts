/**
 * The facts the X509-SVID profile checks (spiffe/certificate-facts.ts), read with der.ts in one
 * strict pass instead of asn1-schema's full parse: the CA's self-check after each leaf it mints.
 * The rules themselves stay in spiffe/x509-svid-profile.ts; only the reading is faster. Tests
 * compare the facts with readCertificateFacts' on good, bent and mutated certificates.
 */
import type { CertificateFacts } from '../spiffe/certificate-facts.js';
import { SvidProfileError, checkX509SvidLeafFacts, type LeafCheckOptions } from '../spiffe/x509-svid-profile.js';
import { checkNameForm, readCertificateStructure, type CertificateExtension } from './certificate-der.js';
import { DerError, derTag, expectDer, expectDerInteger, readDer, readDerBoolean, readDerOid, readDerTime, type DerNode } from './der.js';

const oid = {
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
};
const generalName = { otherName: 0xa0, rfc822Name: 0x81, dnsName: 0x82, directoryName: 0xa4, uri: 0x86, ipAddress: 0x87, registeredId: 0x88 };

/** The extension's value: exactly one TLV inside extnValue. */
function extensionValue(der: Uint8Array, extension: CertificateExtension): DerNode {
  const value = readDer(der, extension.value.contentStart, extension.value.end);
  if (value.end !== extension.value.end) throw new DerError(`extension ${extension.oid} has trailing bytes`, value.end);
  return value;
}

function basicConstraintsOf(der: Uint8Array, extension: CertificateExtension): NonNullable<CertificateFacts['basicConstraints']> {
  const value = extensionValue(der, extension);
  if (value.tag !== derTag.sequence) throw new DerError('BasicConstraints is not a SEQUENCE', value.start);
  let p = value.contentStart;
  let ca = false;
  if (p < value.end && der[p] === derTag.boolean) {
    const node = readDer(der, p, value.end);
    ca = readDerBoolean(der, node);
    if (!ca) throw new DerError('cA FALSE is the default and is not encoded in DER', node.start);
    p = node.end;
  }
  let pathLength: number | undefined;
  if (p < value.end) {
    const node = expectDerInteger(der, p, value.end, 'pathLenConstraint');
    if (node.end - node.contentStart > 4 || ((der[node.contentStart] as number) & 0x80) !== 0) throw new DerError('pathLenConstraint out of range', node.start);
    pathLength = 0;
    for (let i = node.contentStart; i < node.end; i++) pathLength = pathLength * 256 + (der[i] as number);
    p = node.end;
  }
  if (p !== value.end) throw new DerError('extra fields in BasicConstraints', p);
  return pathLength === undefined ? { ca, critical: extension.critical } : { ca, pathLength, critical: extension.critical };
}

/** KeyUsage flags numbered as @peculiar/asn1-x509's KeyUsageFlags: bit n of the BIT STRING is 2^n. */
function keyUsageOf(der: Uint8Array, extension: CertificateExtension): NonNullable<CertificateFacts['keyUsage']> {
  const value = extensionValue(der, extension);
  if (value.tag !== derTag.bitString || value.end === value.contentStart) throw new DerError('KeyUsage is not a BIT STRING', value.start);
  const unused = der[value.contentStart] as number;
  const octets = der.subarray(value.contentStart + 1, value.end);
  // Nine bits are defined; DER drops trailing zero bits, so a non-empty list ends in a set bit.
  if (octets.length === 0 || octets.length > 2 || unused > 7) throw new DerError('KeyUsage has no bits or more than nine', value.start);
  const last = octets[octets.length - 1] as number;
  if ((last & ((1 << unused) - 1)) !== 0 || (last & (1 << unused)) === 0) throw new DerError('KeyUsage BIT STRING is not DER (unused or trailing zero bits)', value.start);
  let flags = 0;
  for (let bit = 0; bit < octets.length * 8 - unused; bit++) {
    if (((octets[bit >> 3] as number) >> (7 - (bit & 7))) & 1) flags |= 1 << bit;
  }
  return { flags, critical: extension.critical };
}

function extKeyUsagesOf(der: Uint8Array, extension: CertificateExtension): string[] {
  const value = extensionValue(der, extension);
  if (value.tag !== derTag.sequence || value.end === value.contentStart) throw new DerError('ExtendedKeyUsage is not a non-empty SEQUENCE', value.start);
  const purposes: string[] = [];
  for (let p = value.contentStart; p < value.end; ) {
    const node = expectDer(der, p, value.end, derTag.oid, 'KeyPurposeId');
    purposes.push(readDerOid(der, node));
    p = node.end;
  }
  return purposes;
}

function subjectAltNameOf(der: Uint8Array, extension: CertificateExtension): NonNullable<CertificateFacts['subjectAltName']> {
  const value = extensionValue(der, extension);
  if (value.tag !== derTag.sequence || value.end === value.contentStart) throw new DerError('SubjectAltName is not a non-empty SEQUENCE', value.start);
  const uris: string[] = [];
  for (let p = value.contentStart; p < value.end; ) {
    const name = readDer(der, p, value.end);
    checkGeneralNameForm(der, name);
    if (name.tag === generalName.uri) uris.push(Buffer.from(der.buffer, der.byteOffset + name.contentStart, name.end - name.contentStart).toString('latin1'));
    p = name.end;
  }
  return { uris, critical: extension.critical };
}

/** A GeneralName (RFC 5280 §4.2.1.6) of the kinds certificates carry; x400Address and ediPartyName are refused. */
function checkGeneralNameForm(der: Uint8Array, name: DerNode): void {
  switch (name.tag) {
    case generalName.rfc822Name:
    case generalName.dnsName:
    case generalName.uri:
      for (let i = name.contentStart; i < name.end; i++) {
        const c = der[i] as number;
        if (c < 0x20 || c > 0x7e) throw new DerError('name is not printable IA5String', name.start);
      }
      return;
    case generalName.ipAddress:
      if (name.end - name.contentStart !== 4 && name.end - name.contentStart !== 16) throw new DerError('iPAddress is neither 4 nor 16 bytes', name.start);
      return;
    case generalName.registeredId:
      readDerOid(der, { ...name, tag: derTag.oid });
      return;
    case generalName.directoryName: {
      const inner = expectDer(der, name.contentStart, name.end, derTag.sequence, 'directoryName');
      if (inner.end !== name.end) throw new DerError('directoryName has trailing bytes', inner.end);
      checkNameForm(der, inner, 'directoryName');
      return;
    }
    case generalName.otherName: {
      const typeId = expectDer(der, name.contentStart, name.end, derTag.oid, 'otherName type-id');
      readDerOid(der, typeId);
      const explicit = expectDer(der, typeId.end, name.end, derTag.contextConstructed0, 'otherName value');
      if (explicit.end !== name.end || readDer(der, explicit.contentStart, explicit.end).end !== explicit.end) throw new DerError('otherName value is not one TLV', explicit.start);
      return;
    }
    default:
      throw new DerError(`unsupported GeneralName (tag 0x${name.tag.toString(16)})`, name.start);
  }
}

/** Throws a DerError naming what is wrong with the encoding. */
export function readCertificateFactsDer(der: Uint8Array): CertificateFacts {
  const cert = readCertificateStructure(der);
  const facts: { -readonly [K in keyof CertificateFacts]: CertificateFacts[K] } = {
    der,
    subjectIsEmpty: cert.subject.end === cert.subject.contentStart,
    notBefore: new Date(readDerTime(der, cert.notBefore)),
    notAfter: new Date(readDerTime(der, cert.notAfter)),
  };
  for (const extension of cert.extensions) {
    if (extension.oid === oid.basicConstraints) facts.basicConstraints = basicConstraintsOf(der, extension);
    else if (extension.oid === oid.keyUsage) facts.keyUsage = keyUsageOf(der, extension);
    else if (extension.oid === oid.extKeyUsage) facts.extKeyUsages = extKeyUsagesOf(der, extension);
    else if (extension.oid === oid.subjectAltName) facts.subjectAltName = subjectAltNameOf(der, extension);
  }
  return facts;
}

/**
 * checkX509SvidLeaf on the DER reading: the same rules and messages, at a fraction of the cost.
 * Stricter in what it parses (DER only), so it never passes a leaf the full check would refuse
 * for its profile.
 */
export function checkX509SvidLeafDer(der: Uint8Array, opts: LeafCheckOptions = {}): void {
  let facts: CertificateFacts;
  try {
    facts = readCertificateFactsDer(der);
  } catch (err) {
    throw new SvidProfileError(`cannot parse DER encoded certificate: ${(err as Error).message}`);
  }
  checkX509SvidLeafFacts(facts, opts);
}
