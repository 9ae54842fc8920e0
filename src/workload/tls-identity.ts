/**
 * mTLS with X509-SVIDs on Node's `tls`. Node checks the peer chain against the `ca` pool and
 * then the hostname, but it ignores URI SANs, so SPIFFE peers are checked here instead: by
 * their one URI SAN, against the bundle of their own trust domain only (X-20..X-22), since
 * OpenSSL's pool mixes every trust domain we hold.
 */
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';
import type { SpiffeId } from '../spiffe/id.js';
import { spiffeIdOfCertificate } from '../spiffe/x509-svid-profile.js';
import { verifyX509SvidChain } from '../spiffe/x509-svid-verify.js';
import { certificatesPem, svidChainPem, svidKeyPem } from './svid-pem.js';
import type { X509Svid } from './x509-response.js';

/** Either the exact SPIFFE ID, or a predicate on it. */
export type ExpectedPeer = string | ((id: SpiffeId) => boolean);
/** Trust domain name to its CA certificates (DER), e.g. an SVID's bundle plus the federated ones. */
export type X509Bundles = ReadonlyMap<string, readonly Uint8Array[]>;
type BundleSource = X509Bundles | (() => X509Bundles);

export class PeerVerificationError extends Error {
  override readonly name = 'PeerVerificationError';
}

export interface SvidTlsOptions {
  cert: string;
  key: string;
  /** Every trust domain's CAs: OpenSSL's first check; the SPIFFE check narrows it to the peer's own. */
  ca: string;
}

/** `cert`/`key`/`ca` for `tls.createSecureContext`, `tls.connect` or `tls.createServer`. */
export function tlsOptionsForSvid(svid: X509Svid, bundles: X509Bundles): SvidTlsOptions {
  return { cert: svidChainPem(svid), key: svidKeyPem(svid), ca: certificatesPem([...bundles.values()].flat()) };
}

/** The SVID's own trust domain bundle plus any federated ones, keyed by trust domain name. */
export function bundlesForSvid(svid: X509Svid, federated: ReadonlyMap<string, Uint8Array[]> = new Map()): Map<string, Uint8Array[]> {
  const trustDomain = spiffeIdOfCertificate(svid.chainDer[0]!).trustDomain;
  return new Map([...federated, [trustDomain, svid.bundleDer]]);
}

/** Verifies a peer chain (leaf first) and returns the peer's SPIFFE ID; throws PeerVerificationError. */
export function verifyPeerChain(chainDer: readonly Uint8Array[], bundles: X509Bundles, expected: ExpectedPeer, now: Date = new Date()): SpiffeId {
  const leaf = chainDer[0];
  if (leaf === undefined) throw new PeerVerificationError('the peer presented no certificate');
  let id: SpiffeId;
  try {
    id = spiffeIdOfCertificate(leaf);
    const roots = bundles.get(id.trustDomain);
    if (roots === undefined) throw new PeerVerificationError(`no X.509 bundle found for trust domain: "${id.trustDomain}"`);
    verifyX509SvidChain(chainDer, roots, now, id.trustDomain);
  } catch (err) {
    if (err instanceof PeerVerificationError) throw err;
    throw new PeerVerificationError(`peer certificate is not a valid X509-SVID: ${err instanceof Error ? err.message : String(err)}`);
  }
  const accepted = typeof expected === 'string' ? id.toString() === expected : expected(id);
  if (!accepted) throw new PeerVerificationError(`unexpected peer SPIFFE ID "${id.toString()}"`);
  return id;
}

/** The chain Node reports for a peer (`getPeerCertificate(true)`), leaf first. */
export function peerChainDer(cert: PeerCertificate | DetailedPeerCertificate): Uint8Array[] {
  const chain: Uint8Array[] = [];
  let current: PeerCertificate | undefined = cert;
  while (current?.raw !== undefined && !chain.some((der) => Buffer.from(der).equals(current!.raw))) {
    chain.push(new Uint8Array(current.raw));
    current = (current as DetailedPeerCertificate).issuerCertificate;
  }
  return chain;
}

/** For a server with `requestCert: true`: call on each secure connection; throws when the client is not `expected`. */
export function checkPeerSpiffeId(expected: ExpectedPeer, bundles: BundleSource, now: () => Date = () => new Date()): (socket: TLSSocket) => SpiffeId {
  return (socket) => verifyPeerChain(peerChainDer(socket.getPeerCertificate(true)), currentBundles(bundles), expected, now());
}

/** For `tls.connect({ checkServerIdentity })`: accepts the server only when it is `expected`. */
export function serverIdentityCheck(expected: ExpectedPeer, bundles: BundleSource, now: () => Date = () => new Date()): (hostname: string, cert: PeerCertificate) => Error | undefined {
  return (_hostname, cert) => {
    try {
      verifyPeerChain(peerChainDer(cert), currentBundles(bundles), expected, now());
      return undefined;
    } catch (err) {
      return err as Error;
    }
  };
}

function currentBundles(source: BundleSource): X509Bundles {
  return typeof source === 'function' ? source() : source;
}
