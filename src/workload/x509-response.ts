/**
 * Checks on what the Workload API hands out as X.509, as a go-spiffe client makes them
 * (spec §2.2, §5.5): every SVID goes through `x509svid.ParseRaw` (chain as concatenated DER,
 * key as PKCS#8, leaf profile, CA flag and keyCertSign on the rest, key matches leaf), one bad
 * SVID fails the whole response, duplicate hints keep the first SVID. Errors carry go-spiffe's
 * texts; the leaf profile is our stricter one from spiffe/.
 */
import { X509Certificate, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import type { X509BundlesResponse, X509Svid as X509SvidMessage, X509SvidResponse } from '../common/grpc/workload-api-types.js';
import { readCertificateFacts } from '../spiffe/certificate-facts.js';
import { SpiffeIdError, parseTrustDomain } from '../spiffe/id.js';
import { SvidProfileError, checkX509SvidLeaf, spiffeIdOfCertificate } from '../spiffe/x509-svid-profile.js';
import { splitConcatenatedDer } from './concatenated-der.js';
import { WorkloadResponseError } from './errors.js';

export interface X509Svid {
  spiffeId: string;
  /** Leaf first, then any intermediates. */
  chainDer: Uint8Array[];
  privateKeyPkcs8: Uint8Array;
  /** CA certificates of the SVID's own trust domain. */
  bundleDer: Uint8Array[];
  hint: string;
  /** Lowercase hex serial number of the leaf. */
  serial: string;
  notAfter: Date;
}

export interface X509SvidSet {
  /** The first one is the default identity (WL-30). */
  svids: X509Svid[];
  /** Trust domain name (`example.org`) to its CA certificates. */
  federatedBundles: Map<string, Uint8Array[]>;
  crls: Uint8Array[];
}

export interface X509BundleSet {
  /** Trust domain name to its CA certificates; the agent's own trust domain is one of them. */
  bundles: Map<string, Uint8Array[]>;
  crls: Uint8Array[];
}

const SUPPORTED_KEY_TYPES = ['rsa', 'ec', 'ed25519'];

function fail(message: string): never {
  throw new WorkloadResponseError(message);
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export function parseX509SvidResponse(response: X509SvidResponse): X509SvidSet {
  if (response.svids.length === 0) fail('no SVIDs in response');
  const seenHints = new Set<string>();
  const svids: X509Svid[] = [];
  for (const message of response.svids) {
    if (message.hint !== '' && seenHints.has(message.hint)) continue;
    seenHints.add(message.hint);
    svids.push(parseX509Svid(message));
  }
  return { svids, federatedBundles: parseBundleMap(response.federated_bundles, 'federated_bundles'), crls: copies(response.crl) };
}

export function parseX509BundlesResponse(response: X509BundlesResponse): X509BundleSet {
  return { bundles: parseBundleMap(response.bundles, 'bundles'), crls: copies(response.crl) };
}

/** One X509SVID message: go-spiffe's `ParseRaw`, plus its bundle and a check that `spiffe_id` names the leaf. */
export function parseX509Svid(message: X509SvidMessage): X509Svid {
  let chainDer: Uint8Array[];
  try {
    chainDer = parseCertificates(message.x509_svid);
  } catch (err) {
    return fail(`x509svid: cannot parse DER encoded certificate: ${errorText(err)}`);
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(message.x509_svid_key), format: 'der', type: 'pkcs8' });
  } catch (err) {
    return fail(`x509svid: cannot parse DER encoded private key: ${errorText(err)}`);
  }

  const leafDer = chainDer[0];
  if (leafDer === undefined) fail('x509svid: certificate validation failed: no certificates found');
  try {
    checkX509SvidLeaf(leafDer);
    chainDer.slice(1).forEach(checkSigningCertificate);
  } catch (err) {
    if (err instanceof SvidProfileError) fail(`x509svid: certificate validation failed: ${err.message}`);
    throw err;
  }
  const leaf = new X509Certificate(leafDer);
  checkPrivateKey(privateKey, leaf);

  const leafId = spiffeIdOfCertificate(leafDer).toString();
  if (message.spiffe_id !== leafId) fail(`X509-SVID spiffe_id "${message.spiffe_id}" does not match the leaf certificate's SPIFFE ID "${leafId}"`);
  let bundleDer: Uint8Array[];
  try {
    bundleDer = parseCertificates(message.bundle);
  } catch (err) {
    return fail(`cannot parse the bundle of ${leafId}: ${errorText(err)}`);
  }
  return {
    spiffeId: leafId,
    chainDer,
    privateKeyPkcs8: new Uint8Array(message.x509_svid_key),
    bundleDer,
    hint: message.hint,
    serial: leaf.serialNumber.toLowerCase(),
    notAfter: readCertificateFacts(leafDer).notAfter,
  };
}

/** What go-spiffe requires of every certificate after the leaf, and no more (intermediates may come from any upstream CA). */
function checkSigningCertificate(der: Uint8Array): void {
  const facts = readCertificateFacts(der);
  if (!facts.basicConstraints?.ca) throw new SvidProfileError('signing certificate must have CA flag set to true');
  if (!((facts.keyUsage?.flags ?? 0) & KeyUsageFlags.keyCertSign)) {
    throw new SvidProfileError("signing certificate must have 'keyCertSign' set as key usage");
  }
}

function checkPrivateKey(privateKey: KeyObject, leaf: X509Certificate): void {
  const type = privateKey.asymmetricKeyType ?? 'unknown';
  if (!SUPPORTED_KEY_TYPES.includes(type)) fail(`x509svid: private key validation failed: unsupported private key type ${type}`);
  const fromKey = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const fromLeaf = leaf.publicKey.export({ type: 'spki', format: 'der' });
  if (!fromKey.equals(fromLeaf)) fail('x509svid: private key validation failed: leaf certificate does not match private key');
}

/** Go's `x509.ParseCertificates`: concatenated DER, every certificate must parse. */
function parseCertificates(bytes: Uint8Array): Uint8Array[] {
  const ders = splitConcatenatedDer(bytes);
  for (const der of ders) readCertificateFacts(der);
  return ders;
}

function parseBundleMap(map: Record<string, Uint8Array>, field: string): Map<string, Uint8Array[]> {
  const bundles = new Map<string, Uint8Array[]>();
  for (const [key, value] of Object.entries(map ?? {})) {
    let trustDomain: string;
    try {
      // go-spiffe's TrustDomainFromString: both `spiffe://td` and `td` name a trust domain.
      trustDomain = parseTrustDomain(key);
    } catch (err) {
      if (err instanceof SpiffeIdError) fail(`${field} has an invalid trust domain key ${JSON.stringify(key)}: ${err.message}`);
      throw err;
    }
    try {
      bundles.set(trustDomain, parseCertificates(value));
    } catch (err) {
      fail(`cannot parse ${field} of ${trustDomain}: ${errorText(err)}`);
    }
  }
  return bundles;
}

function copies(items: readonly Uint8Array[] | undefined): Uint8Array[] {
  return (items ?? []).map((item) => new Uint8Array(item));
}
