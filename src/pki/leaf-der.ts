/**
 * X509-SVID leaves encoded directly in DER (the issuance hot path). What is the same in every
 * leaf of one issuer (algorithm, issuer name, AKI, signing key) is prepared once in a template;
 * per leaf only the serial, validity, subject CN, SPKI, SAN and SKI are written, then the TBS is
 * signed with node:crypto. `mintX509LeafWithLibrary` in certificates.ts (@peculiar/x509) is the
 * reference: tests compare the TBSCertificate byte for byte.
 *
 * Profile (X509-SVID §2–§4, what mintX509LeafWithLibrary writes): subject C=US, O=Sigil and the
 * first DNS name as CN; extensions in this order: BasicConstraints cA=false critical,
 * KeyUsage digitalSignature|keyEncipherment|keyAgreement critical, EKU serverAuth+clientAuth,
 * SAN (the URI, then the DNS names), SKI, AKI.
 */
import { KeyObject, createPublicKey } from 'node:crypto';
import { readCertificateStructure } from './certificate-der.js';
import { derTag, derTime, derTlv, derUnsignedInteger, readDer } from './der.js';
import { keyAlgorithmOf } from './keys.js';
import { randomSerialHex } from './serial.js';
import { signOffLoop, signatureProfiles, type SignatureProfile } from './signature-profile.js';
import { keyIdentifierOf, subjectPublicKeyInfoOf } from './spki.js';

const versionV3 = Buffer.from('a003020102', 'hex');
const commonNameOid = Buffer.from('0603550403', 'hex');
const rdn = (oidDer: Buffer, stringTag: number, value: string) => derTlv(derTag.set, derTlv(derTag.sequence, oidDer, derTlv(stringTag, Buffer.from(value, 'latin1'))));
/** The RDNs C=US, O=Sigil that begin every leaf subject. */
const subjectPrefix = Buffer.concat([rdn(Buffer.from('0603550406', 'hex'), derTag.printableString, 'US'), rdn(Buffer.from('060355040a', 'hex'), derTag.printableString, 'Sigil')]);
const basicConstraintsNotCa = Buffer.from('300c0603551d130101ff04023000', 'hex');
const keyUsageLeaf = Buffer.from('300e0603551d0f0101ff0404030203a8', 'hex');
const extKeyUsageServerAndClientAuth = Buffer.from('301d0603551d250416301406082b0601050507030106082b06010505070302', 'hex');
const fixedExtensionsBeforeNames = Buffer.concat([basicConstraintsNotCa, keyUsageLeaf, extKeyUsageServerAndClientAuth]);
const subjectAltNameOid = Buffer.from('0603551d11', 'hex');
const subjectKeyIdOid = Buffer.from('0603551d0e', 'hex');
const authorityKeyIdOid = Buffer.from('0603551d23', 'hex');
const subjectKeyIdentifierOid = '2.5.29.14';
const generalNameUri = 0x86;
const generalNameDns = 0x82;
const keyIdentifierTag = 0x80;

/** What every leaf of one issuer shares; create it once per authority. */
export interface LeafIssuerTemplate {
  readonly signature: SignatureProfile;
  /** The issuer certificate's subject, byte for byte. */
  readonly issuerNameDer: Buffer;
  readonly authorityKeyIdExtensionDer: Buffer;
  readonly signingKey: KeyObject;
}

export interface LeafFields {
  spiffeId: string;
  dnsNames: readonly string[];
  /** The subject's public key as SubjectPublicKeyInfo DER. */
  subjectPublicKeyInfo: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** Lowercase or uppercase hex; a random 128-bit serial when absent. */
  serialHex?: string | undefined;
}

export interface MintedLeaf {
  der: Uint8Array;
  /** Lowercase hex without leading zero bytes, as serials are stored. */
  serialHex: string;
}

/**
 * The template of an issuer from its certificate and private key. Refuses a key that is not the
 * certificate's. The AKI is the issuer's SKI when it has one, else computed from its key, as
 * `authorityKeyIdOf` does.
 */
export function leafIssuerTemplate(issuerCertificateDer: Uint8Array, issuerPrivateKey: CryptoKey | KeyObject): LeafIssuerTemplate {
  const signingKey = issuerPrivateKey instanceof KeyObject ? issuerPrivateKey : KeyObject.from(issuerPrivateKey);
  if (signingKey.type !== 'private') throw new Error('the issuer key of a leaf template must be a private key');
  const issuer = readCertificateStructure(issuerCertificateDer);
  const issuerSpki = issuerCertificateDer.subarray(issuer.subjectPublicKeyInfo.start, issuer.subjectPublicKeyInfo.end);
  if (!createPublicKey(signingKey).export({ type: 'spki', format: 'der' }).equals(issuerSpki)) {
    throw new Error('the issuer private key does not belong to the issuer certificate');
  }
  const ski = issuer.extensions.find((e) => e.oid === subjectKeyIdentifierOid);
  let keyId: Uint8Array;
  if (ski) {
    const octets = readDer(issuerCertificateDer, ski.value.contentStart, ski.value.end);
    if (octets.tag !== derTag.octetString || octets.end !== ski.value.end) throw new Error('the issuer certificate has a malformed SubjectKeyIdentifier');
    keyId = issuerCertificateDer.subarray(octets.contentStart, octets.end);
  } else {
    keyId = keyIdentifierOf(issuer.subjectPublicKey);
  }
  return {
    signature: signatureProfiles[keyAlgorithmOf(signingKey)],
    issuerNameDer: Buffer.from(issuerCertificateDer.subarray(issuer.subject.start, issuer.subject.end)),
    authorityKeyIdExtensionDer: derTlv(derTag.sequence, authorityKeyIdOid, derTlv(derTag.octetString, derTlv(derTag.sequence, derTlv(keyIdentifierTag, keyId)))),
    signingKey,
  };
}

const isPrintableString = (text: string) => /^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text);
// IA5String without controls: a SPIFFE ID is ASCII (ID-06, ID-12); the X509-SVID check after minting judges the rest.
const isIa5Text = (text: string) => /^[\x21-\x7e]+$/.test(text);
// The alphabet of DNS names (with wildcard and underscore): nothing that a DN string or IA5String would change.
const isDnsNameText = (text: string) => /^[A-Za-z0-9*._-]{1,253}$/.test(text);

function serialMagnitude(serialHex: string): Buffer {
  if (!/^[0-9a-fA-F]+$/.test(serialHex)) throw new Error(`serial must be hex, got "${serialHex}"`);
  const bytes = Buffer.from(serialHex.length % 2 ? `0${serialHex}` : serialHex, 'hex');
  let first = 0;
  while (first < bytes.length && bytes[first] === 0) first++;
  // RFC 5280 §4.1.2.2: a positive integer of at most 20 octets.
  if (first === bytes.length) throw new Error('serial must be positive');
  if (bytes.length - first > 20) throw new Error(`serial has ${bytes.length - first} bytes; RFC 5280 allows at most 20`);
  return bytes.subarray(first);
}

function subjectName(firstDnsName: string | undefined): Buffer {
  if (firstDnsName === undefined) return derTlv(derTag.sequence, subjectPrefix);
  // @peculiar/x509 writes a PrintableString when the value fits one, else a UTF8String.
  return derTlv(derTag.sequence, subjectPrefix, rdn(commonNameOid, isPrintableString(firstDnsName) ? derTag.printableString : derTag.utf8String, firstDnsName));
}

function subjectAltNameExtension(spiffeId: string, dnsNames: readonly string[]): Buffer {
  const names = [derTlv(generalNameUri, Buffer.from(spiffeId, 'latin1')), ...dnsNames.map((name) => derTlv(generalNameDns, Buffer.from(name, 'latin1')))];
  return derTlv(derTag.sequence, subjectAltNameOid, derTlv(derTag.octetString, derTlv(derTag.sequence, ...names)));
}

/** The TBSCertificate of a leaf. Throws on input that the profile or DER cannot carry. */
export function encodeLeafTbs(template: LeafIssuerTemplate, fields: LeafFields & { serialHex: string }): Buffer {
  if (!isIa5Text(fields.spiffeId)) throw new Error('the SPIFFE ID must be printable ASCII');
  for (const name of fields.dnsNames) if (!isDnsNameText(name)) throw new Error(`not a DNS name: ${JSON.stringify(name)}`);
  const notBefore = fields.notBefore.getTime();
  const notAfter = fields.notAfter.getTime();
  if (!(notBefore <= notAfter)) throw new Error('notBefore must not be after notAfter');
  const spki = subjectPublicKeyInfoOf(fields.subjectPublicKeyInfo);
  const subjectKeyId = derTlv(derTag.sequence, subjectKeyIdOid, derTlv(derTag.octetString, derTlv(derTag.octetString, keyIdentifierOf(spki.subjectPublicKey))));
  const extensions = derTlv(
    derTag.contextConstructed3,
    derTlv(derTag.sequence, fixedExtensionsBeforeNames, subjectAltNameExtension(fields.spiffeId, fields.dnsNames), subjectKeyId, template.authorityKeyIdExtensionDer),
  );
  return derTlv(
    derTag.sequence,
    versionV3,
    derUnsignedInteger(serialMagnitude(fields.serialHex)),
    template.signature.algorithmDer,
    template.issuerNameDer,
    derTlv(derTag.sequence, derTime(notBefore), derTime(notAfter)),
    subjectName(fields.dnsNames[0]),
    fields.subjectPublicKeyInfo,
    extensions,
  );
}

/** Mint one leaf: encode, then sign on libuv's thread pool. */
export async function mintX509LeafDer(template: LeafIssuerTemplate, fields: LeafFields): Promise<MintedLeaf> {
  const serialHex = fields.serialHex ?? randomSerialHex();
  const tbs = encodeLeafTbs(template, { ...fields, serialHex });
  const signature = await signOffLoop(template.signature.hash, tbs, template.signingKey);
  const der = derTlv(derTag.sequence, tbs, template.signature.algorithmDer, derTlv(derTag.bitString, Buffer.from([0]), signature));
  // A copy that owns its ArrayBuffer: small Buffers share Node's pool, which callers must never see through `.buffer`.
  return { der: new Uint8Array(der), serialHex: serialMagnitude(serialHex).toString('hex') };
}
