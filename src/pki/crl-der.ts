/**
 * CRLs encoded and parsed directly in DER, for sizes where a generic ASN.1 library is too slow
 * or refuses (asn1-schema's node limit fails at ~1,250 entries). Each revoked entry is encoded
 * once and kept by the caller, so a new CRL costs a copy and a signature, not a re-encoding.
 * `createCrl` in crl.ts (@peculiar/x509) is the reference: tests compare the TBS byte for byte.
 */
import { KeyObject } from 'node:crypto';
import { authorityKeyIdOf, type CertificateIssuer } from './certificates.js';
import type { RevocationReason, RevokedSerial } from './crl.js';
import { DerError, derSmallInteger, derTag, derTime, derTlv, derUnsignedInteger, expectDer, readDer, readDerIntegerHex, readDerOid, readDerTime, type DerNode } from './der.js';
import { signOffLoop, signatureProfiles, type SignatureProfile } from './signature-profile.js';

/** RFC 5280 §5.3.1 CRLReason codes. */
const reasonCodes: Record<RevocationReason, number> = {
  unspecified: 0,
  keyCompromise: 1,
  cACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  privilegeWithdrawn: 9,
};
const reasonNames = new Map<number, string>([...Object.entries(reasonCodes).map(([name, code]) => [code, name] as [number, string]), [6, 'certificateHold'], [8, 'removeFromCRL'], [10, 'aACompromise']]);

const oid = {
  crlReason: '2.5.29.21',
  crlNumber: '2.5.29.20',
};
const crlReasonOidDer = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x15]);
const crlNumberOidDer = Buffer.from([0x06, 0x03, 0x55, 0x1d, 0x14]);
const versionV2 = Buffer.from([0x02, 0x01, 0x01]);

/** One revokedCertificates element: serial, revocation date and (unless unspecified, RFC 5280 §5.3.1) the reason code. */
export function encodeRevokedCertificate(entry: RevokedSerial): Buffer {
  const serial = derUnsignedInteger(Buffer.from(entry.serialHex.length % 2 ? `0${entry.serialHex}` : entry.serialHex, 'hex'));
  const date = derTime(entry.revokedAt.getTime());
  if (entry.reason === 'unspecified') return derTlv(derTag.sequence, serial, date);
  const reason = derTlv(derTag.sequence, crlReasonOidDer, derTlv(derTag.octetString, derTlv(derTag.enumerated, Buffer.from([reasonCodes[entry.reason]]))));
  return derTlv(derTag.sequence, serial, date, derTlv(derTag.sequence, reason));
}

/** What stays the same in every CRL of one issuer: name, algorithm and AKI. */
export interface CrlIssuerTemplate {
  issuerNameDer: Buffer;
  signature: SignatureProfile;
  authorityKeyIdExtensionDer: Buffer;
}

export async function crlIssuerTemplate(issuer: CertificateIssuer): Promise<CrlIssuerTemplate> {
  return {
    issuerNameDer: Buffer.from(issuer.certificate.subjectName.toArrayBuffer()),
    signature: signatureProfiles[issuer.keys.algorithm],
    authorityKeyIdExtensionDer: Buffer.from((await authorityKeyIdOf(issuer.certificate)).rawData),
  };
}

export interface CrlContent {
  crlNumber: number;
  thisUpdate: Date;
  nextUpdate: Date;
  /** Concatenated `encodeRevokedCertificate` outputs (empty: the CRL lists nothing). */
  revokedCertificatesDer: Uint8Array;
}

/** The TBSCertList: v2, the issuer's algorithm and name, the two times, the entries, then AKI and CRL Number. */
export function encodeTbsCertList(template: CrlIssuerTemplate, content: CrlContent): Buffer {
  const { crlNumber } = content;
  if (!Number.isSafeInteger(crlNumber) || crlNumber < 1) throw new Error(`CRL Number must be a positive integer, got ${crlNumber}`);
  const crlNumberExtension = derTlv(derTag.sequence, crlNumberOidDer, derTlv(derTag.octetString, derSmallInteger(crlNumber)));
  const extensions = derTlv(derTag.contextConstructed0, derTlv(derTag.sequence, template.authorityKeyIdExtensionDer, crlNumberExtension));
  const parts: Uint8Array[] = [versionV2, template.signature.algorithmDer, template.issuerNameDer, derTime(content.thisUpdate.getTime()), derTime(content.nextUpdate.getTime())];
  if (content.revokedCertificatesDer.length > 0) parts.push(derTlv(derTag.sequence, content.revokedCertificatesDer));
  parts.push(extensions);
  return derTlv(derTag.sequence, ...parts);
}

/** Sign a TBSCertList with the issuer's key; the hash and signature run on libuv's thread pool, off the event loop. */
export async function signCrl(template: CrlIssuerTemplate, tbs: Buffer, privateKey: CryptoKey): Promise<Uint8Array> {
  const signature = await signOffLoop(template.signature.hash, tbs, KeyObject.from(privateKey));
  const bitString = derTlv(derTag.bitString, Buffer.from([0]), signature);
  return new Uint8Array(derTlv(derTag.sequence, tbs, template.signature.algorithmDer, bitString));
}

export interface ParsedRevokedCertificate {
  /** Lowercase hex without leading zero bytes. */
  serialHex: string;
  revokedAt: number;
  /** RFC 5280 reason name; "unspecified" when the entry has none. */
  reason: string;
}

export interface ParsedCrl {
  tbsDer: Uint8Array;
  issuerNameDer: Uint8Array;
  signatureAlgorithmOid: string;
  signature: Uint8Array;
  thisUpdate: number;
  nextUpdate: number | undefined;
  /** Hex of the CRL Number extension, if present. */
  crlNumberHex: string | undefined;
  revoked: ParsedRevokedCertificate[];
}

function isTime(node: DerNode): boolean {
  return node.tag === derTag.utcTime || node.tag === derTag.generalizedTime;
}

/** The reason code among an entry's extensions. */
function entryReason(buf: Uint8Array, extensions: DerNode): string {
  for (let p = extensions.contentStart; p < extensions.end; ) {
    const ext = expectDer(buf, p, extensions.end, derTag.sequence, 'CRL entry extension');
    const id = expectDer(buf, ext.contentStart, ext.end, derTag.oid, 'extension id');
    if (readDerOid(buf, id) === oid.crlReason) {
      let q = id.end;
      let value = readDer(buf, q, ext.end);
      if (value.tag === 0x01) value = readDer(buf, (q = value.end), ext.end); // critical BOOLEAN
      const octets = value.tag === derTag.octetString ? value : expectDer(buf, q, ext.end, derTag.octetString, 'extension value');
      const enumerated = expectDer(buf, octets.contentStart, octets.end, derTag.enumerated, 'CRLReason');
      if (enumerated.end - enumerated.contentStart !== 1) throw new DerError('CRLReason is not one byte', enumerated.start);
      const code = buf[enumerated.contentStart] as number;
      return reasonNames.get(code) ?? `reason-${code}`;
    }
    p = ext.end;
  }
  return 'unspecified';
}

function crlNumberOfExtensions(buf: Uint8Array, wrapper: DerNode): string | undefined {
  const list = expectDer(buf, wrapper.contentStart, wrapper.end, derTag.sequence, 'crlExtensions');
  for (let p = list.contentStart; p < list.end; ) {
    const ext = expectDer(buf, p, list.end, derTag.sequence, 'CRL extension');
    const id = expectDer(buf, ext.contentStart, ext.end, derTag.oid, 'extension id');
    if (readDerOid(buf, id) === oid.crlNumber) {
      let value = readDer(buf, id.end, ext.end);
      if (value.tag === 0x01) value = readDer(buf, value.end, ext.end);
      const octets = value.tag === derTag.octetString ? value : expectDer(buf, value.start, ext.end, derTag.octetString, 'CRL Number value');
      return readDerIntegerHex(buf, expectDer(buf, octets.contentStart, octets.end, derTag.integer, 'CRL Number'));
    }
    p = ext.end;
  }
  return undefined;
}

interface CrlStructure {
  outer: DerNode;
  tbs: DerNode;
  issuer: DerNode;
  thisUpdate: DerNode;
  nextUpdate: number | undefined;
  crlNumberHex: string | undefined;
  signatureAlgorithmOid: string;
  bits: DerNode;
}

/**
 * Walk a DER CRL (RFC 5280 §5.1) once, calling `onEntry` with each revokedCertificates element
 * and its serial INTEGER. Everything around the entries is checked; the entries' contents are
 * read only as far as the visitor reads them.
 */
function walkCrl(der: Uint8Array, onEntry: (entry: DerNode, serial: DerNode) => void): CrlStructure {
  const outer = expectDer(der, 0, der.length, derTag.sequence, 'CertificateList');
  if (outer.end !== der.length) throw new DerError('trailing bytes after the CRL', outer.end);
  const tbs = expectDer(der, outer.contentStart, outer.end, derTag.sequence, 'TBSCertList');
  const algorithm = expectDer(der, tbs.end, outer.end, derTag.sequence, 'signatureAlgorithm');
  const signatureAlgorithmOid = readDerOid(der, expectDer(der, algorithm.contentStart, algorithm.end, derTag.oid, 'signature algorithm'));
  const bits = expectDer(der, algorithm.end, outer.end, derTag.bitString, 'signatureValue');
  if (bits.end !== outer.end) throw new DerError('extra fields in CertificateList', bits.end);
  if (bits.end === bits.contentStart || der[bits.contentStart] !== 0) throw new DerError('signature BIT STRING has unused bits', bits.start);

  let p = tbs.contentStart;
  let node = readDer(der, p, tbs.end);
  if (node.tag === derTag.integer) node = readDer(der, (p = node.end), tbs.end);
  const innerAlgorithm = expectDer(der, p, tbs.end, derTag.sequence, 'TBSCertList signature');
  const issuer = expectDer(der, innerAlgorithm.end, tbs.end, derTag.sequence, 'issuer');
  const thisUpdate = readDer(der, issuer.end, tbs.end);
  if (!isTime(thisUpdate)) throw new DerError('thisUpdate is not a time', thisUpdate.start);
  readDerTime(der, thisUpdate);
  p = thisUpdate.end;
  let nextUpdate: number | undefined;
  let sawEntries = false;
  let crlNumberHex: string | undefined;
  while (p < tbs.end) {
    node = readDer(der, p, tbs.end);
    if (isTime(node) && nextUpdate === undefined && !sawEntries) {
      nextUpdate = readDerTime(der, node);
    } else if (node.tag === derTag.sequence && !sawEntries) {
      sawEntries = true;
      for (let q = node.contentStart; q < node.end; ) {
        const entry = expectDer(der, q, node.end, derTag.sequence, 'revoked certificate');
        onEntry(entry, expectDer(der, entry.contentStart, entry.end, derTag.integer, 'userCertificate'));
        q = entry.end;
      }
    } else if (node.tag === derTag.contextConstructed0) {
      crlNumberHex = crlNumberOfExtensions(der, node);
    } else {
      throw new DerError(`unexpected field (tag 0x${node.tag.toString(16)}) in TBSCertList`, node.start);
    }
    p = node.end;
  }
  return { outer, tbs, issuer, thisUpdate, nextUpdate, crlNumberHex, signatureAlgorithmOid, bits };
}

/**
 * Parse a DER CRL (RFC 5280 §5.1) in one pass. The signature is returned, not checked: callers
 * that received the CRL over an unauthenticated path verify it against the issuer.
 */
export function parseCrl(der: Uint8Array): ParsedCrl {
  const revoked: ParsedRevokedCertificate[] = [];
  const crl = walkCrl(der, (entry, serial) => {
    const date = readDer(der, serial.end, entry.end);
    let reason = 'unspecified';
    if (date.end < entry.end) reason = entryReason(der, expectDer(der, date.end, entry.end, derTag.sequence, 'crlEntryExtensions'));
    revoked.push({ serialHex: readDerIntegerHex(der, serial), revokedAt: readDerTime(der, date), reason });
  });
  return {
    tbsDer: der.subarray(crl.tbs.start, crl.tbs.end),
    issuerNameDer: der.subarray(crl.issuer.start, crl.issuer.end),
    signatureAlgorithmOid: crl.signatureAlgorithmOid,
    signature: der.subarray(crl.bits.contentStart + 1, crl.bits.end),
    thisUpdate: readDerTime(der, crl.thisUpdate),
    nextUpdate: crl.nextUpdate,
    crlNumberHex: crl.crlNumberHex,
    revoked,
  };
}

/** Only the serial numbers a CRL lists (lowercase hex without leading zero bytes): what an agent needs, at the least cost. */
export function revokedSerialsOfCrl(der: Uint8Array): string[] {
  const view = Buffer.from(der.buffer, der.byteOffset, der.byteLength);
  const serials: string[] = [];
  walkCrl(der, (_entry, serial) => {
    if (serial.end === serial.contentStart) throw new DerError('empty INTEGER', serial.start);
    let start = serial.contentStart;
    while (start < serial.end - 1 && view[start] === 0) start++;
    serials.push(view.toString('hex', start, serial.end));
  });
  return serials;
}
