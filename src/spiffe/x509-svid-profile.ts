/**
 * X509-SVID profile checks (X509-SVID §2–§5): the union of what go-spiffe's `x509svid.Parse`
 * and SPIRE's credvalidator check, plus the spec rules both skip.
 * Error texts are go-spiffe's where go-spiffe has the check, else SPIRE's, else our own.
 * Path validation against a bundle is not done here.
 */
import { X509Certificate as NodeX509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { KeyUsageFlags, id_kp_clientAuth, id_kp_serverAuth } from '@peculiar/asn1-x509';
import { readCertificateFacts, type CertificateFacts, type DerInput } from './certificate-facts.js';
import { SpiffeIdError, parseSpiffeId, type SpiffeId } from './id.js';

export type { DerInput } from './certificate-facts.js';

export class SvidProfileError extends Error {
  override readonly name = 'SvidProfileError';
}

export interface LeafCheckOptions {
  /** The SPIFFE ID the leaf must carry, e.g. the one it was issued for. */
  expectedId?: string | SpiffeId;
  /** Check notBefore <= at <= notAfter; validity is not checked when absent. */
  at?: Date;
}

export interface SigningCertificateCheckOptions {
  /** When set, a URI SAN on the CA must be exactly `spiffe://<trustDomain>`. */
  trustDomain?: string;
  at?: Date;
}

export interface ChainCheckOptions extends LeafCheckOptions {
  /** Unencrypted PKCS#8 DER; when given it must hold the private key of the leaf. */
  privateKeyPkcs8?: Uint8Array;
}

function fail(message: string): never {
  throw new SvidProfileError(message);
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

function parse(certDer: DerInput): CertificateFacts {
  try {
    return readCertificateFacts(certDer);
  } catch (err) {
    return fail(`cannot parse DER encoded certificate: ${errorText(err)}`);
  }
}

/** The SPIFFE ID in the certificate's single URI SAN. */
export function spiffeIdOfCertificate(certDer: DerInput): SpiffeId {
  return uriSanId(parse(certDer));
}

function uriSanId(facts: CertificateFacts): SpiffeId {
  const uris = facts.subjectAltName?.uris ?? [];
  if (uris.length === 0) fail('certificate contains no URI SAN');
  if (uris.length > 1) fail('certificate contains more than one URI SAN');
  try {
    return parseSpiffeId(uris[0]!);
  } catch (err) {
    if (err instanceof SpiffeIdError) fail(err.message);
    throw err;
  }
}

export function checkX509SvidLeaf(certDer: DerInput, opts: LeafCheckOptions = {}): void {
  checkLeaf(parse(certDer), opts);
}

/** checkX509SvidLeaf on facts read elsewhere, e.g. by the CA's DER reader (pki/certificate-facts-der.ts). */
export function checkX509SvidLeafFacts(facts: CertificateFacts, opts: LeafCheckOptions = {}): void {
  checkLeaf(facts, opts);
}

export function checkSigningCertificate(certDer: DerInput, opts: SigningCertificateCheckOptions = {}): void {
  checkSigning(parse(certDer), opts);
}

/**
 * A chain as served to workloads: leaf first, then intermediates (the root belongs in the bundle).
 * Intermediates may belong to other trust domains, so their URI SANs are only checked
 * for form. Each certificate must be signed by the next one.
 */
export function checkX509SvidChain(chainDer: readonly DerInput[], opts: ChainCheckOptions = {}): void {
  if (chainDer.length === 0) fail('no certificates found');
  const chain = chainDer.map((der, i) => {
    try {
      return parse(der);
    } catch (err) {
      return fail(`certificate ${i} of the chain: ${errorText(err)}`);
    }
  });

  checkLeaf(chain[0]!, opts);
  chain.slice(1).forEach((facts, index) => {
    try {
      checkSigning(facts, { at: opts.at });
    } catch (err) {
      fail(`certificate ${index + 1} of the chain: ${errorText(err)}`);
    }
  });

  const nodeCerts = chain.map((facts) => new NodeX509Certificate(facts.der));
  for (let i = 0; i + 1 < nodeCerts.length; i++) {
    const [child, parent] = [nodeCerts[i]!, nodeCerts[i + 1]!];
    if (!child.checkIssued(parent) || !child.verify(parent.publicKey)) {
      fail(`certificate ${i} of the chain is not signed by certificate ${i + 1}`);
    }
  }

  if (opts.privateKeyPkcs8 !== undefined) checkPrivateKeyMatches(nodeCerts[0]!, opts.privateKeyPkcs8);
}

function checkLeaf(facts: CertificateFacts, opts: LeafCheckOptions): void {
  let id: SpiffeId;
  try {
    id = uriSanId(facts);
  } catch (err) {
    return fail(`cannot get leaf certificate SPIFFE ID: ${errorText(err)}`);
  }
  if (id.isTrustDomainId) fail('leaf certificate SPIFFE ID must have a non-root path');
  if (opts.expectedId !== undefined && id.toString() !== opts.expectedId.toString()) {
    fail(`expected URI SAN "${opts.expectedId.toString()}" but got "${id.toString()}"`);
  }

  const bc = facts.basicConstraints;
  if (bc === undefined) fail('leaf certificate must have the basic constraints extension');
  if (bc.ca) fail('leaf certificate must not have CA flag set to true');

  const usage = keyUsageFlags(facts, 'leaf');
  if (!(usage & KeyUsageFlags.digitalSignature)) {
    fail("leaf certificate must have 'digitalSignature' set as key usage");
  }
  if (usage & KeyUsageFlags.keyCertSign) fail("leaf certificate must not have 'keyCertSign' set as key usage");
  if (usage & KeyUsageFlags.cRLSign) fail("leaf certificate must not have 'cRLSign' set as key usage");
  const leafUsages = KeyUsageFlags.digitalSignature | KeyUsageFlags.keyEncipherment | KeyUsageFlags.keyAgreement;
  if (usage & ~leafUsages) fail('only digitalSignature, keyEncipherment, and keyAgreement key usage can be set');

  checkLeafExtKeyUsage(facts);
  checkSanCriticalWhenSubjectEmpty(facts);
  checkValidity(facts, opts.at, 'leaf');
}

/** EKU is optional on a leaf, but when present it must allow both TLS roles. */
function checkLeafExtKeyUsage(facts: CertificateFacts): void {
  if (facts.extKeyUsages === undefined) return;
  const server = facts.extKeyUsages.includes(id_kp_serverAuth);
  const client = facts.extKeyUsages.includes(id_kp_clientAuth);
  if (!server && !client) fail('missing both serverAuth and clientAuth extended key usage');
  if (!server) fail('missing serverAuth extended key usage');
  if (!client) fail('missing clientAuth extended key usage');
}

function checkSigning(facts: CertificateFacts, opts: SigningCertificateCheckOptions): void {
  const bc = facts.basicConstraints;
  if (bc === undefined) fail('signing certificate must have the basic constraints extension');
  if (!bc.ca) fail('signing certificate must have CA flag set to true');
  // RFC 5280 §4.2.1.9: CAs MUST mark basic constraints critical.
  if (!bc.critical) fail('signing certificate basic constraints extension must be critical');

  const usage = keyUsageFlags(facts, 'signing');
  if (!(usage & KeyUsageFlags.keyCertSign)) fail("signing certificate must have 'keyCertSign' set as key usage");
  // X-17 (App. A): digitalSignature iff leaf. SPIRE tolerates it on CAs; the spec does not.
  if (usage & KeyUsageFlags.digitalSignature) {
    fail("signing certificate must not have 'digitalSignature' set as key usage");
  }
  if (usage & ~(KeyUsageFlags.keyCertSign | KeyUsageFlags.cRLSign)) {
    fail('only keyCertSign and cRLSign key usage can be set on a signing certificate');
  }

  checkSigningUriSan(facts, opts.trustDomain);
  checkSanCriticalWhenSubjectEmpty(facts);
  checkValidity(facts, opts.at, 'signing');
}

/** a URI SAN is optional on a CA; if present it names a trust domain, with no path. */
function checkSigningUriSan(facts: CertificateFacts, trustDomain: string | undefined): void {
  const uris = facts.subjectAltName?.uris ?? [];
  if (uris.length === 0) return;
  if (uris.length > 1) fail('signing certificate contains more than one URI SAN');
  let id: SpiffeId;
  try {
    id = parseSpiffeId(uris[0]!);
  } catch (err) {
    return fail(`signing certificate SPIFFE ID is invalid: ${errorText(err)}`);
  }
  if (!id.isTrustDomainId) fail('signing certificate SPIFFE ID must not have a path');
  if (trustDomain !== undefined && !id.memberOf(trustDomain)) {
    fail(`expected URI SAN "spiffe://${trustDomain}" but got "${id.toString()}"`);
  }
}

/** KeyUsage is present and critical on every SVID. */
function keyUsageFlags(facts: CertificateFacts, role: 'leaf' | 'signing'): number {
  const ku = facts.keyUsage;
  if (ku === undefined) return fail(`${role} certificate must have the key usage extension`);
  if (!ku.critical) fail(`${role} certificate key usage extension must be critical`);
  return ku.flags;
}

/** X-04 (RFC 5280 §4.1.2.6): with an empty subject, the SAN carries the identity and must be critical. */
function checkSanCriticalWhenSubjectEmpty(facts: CertificateFacts): void {
  if (!facts.subjectIsEmpty) return;
  if (facts.subjectAltName === undefined) fail('certificate has an empty subject and no subject alternative name');
  if (!facts.subjectAltName.critical) {
    fail('subject is empty, so the subject alternative name extension must be critical');
  }
}

function checkValidity(facts: CertificateFacts, at: Date | undefined, role: 'leaf' | 'signing'): void {
  if (at === undefined) return;
  if (at.getTime() < facts.notBefore.getTime()) {
    fail(`${role} certificate not yet valid until ${rfc3339(facts.notBefore)}`);
  }
  if (at.getTime() > facts.notAfter.getTime()) {
    fail(`${role} certificate already expired as of ${rfc3339(facts.notAfter)}`);
  }
}

/** Go's time.RFC3339 for a UTC time: no fractional seconds when they are zero. */
function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

function checkPrivateKeyMatches(leaf: NodeX509Certificate, pkcs8: Uint8Array): void {
  let publicOfPrivate: Buffer;
  try {
    const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
    publicOfPrivate = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  } catch (err) {
    return fail(`cannot parse DER encoded private key: ${errorText(err)}`);
  }
  const certPublic = leaf.publicKey.export({ type: 'spki', format: 'der' });
  if (!publicOfPrivate.equals(certPublic)) {
    fail('private key validation failed: leaf certificate does not match private key');
  }
}
