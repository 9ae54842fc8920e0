/** Who may be on the other end of an mTLS connection: a valid X509-SVID chain, the expected SPIFFE ID, not revoked. */
import type { SpiffeId } from '../../spiffe/id.js';
import { PeerVerificationError, verifyPeerChain, type ExpectedPeer } from '../tls-identity.js';
import type { Revocation } from './revocation-list.js';
import type { X509Source } from './x509-source.js';

export class PeerRevokedError extends PeerVerificationError {
  constructor(
    readonly peer: SpiffeId,
    readonly revocation: Revocation,
  ) {
    super(`peer ${peer.toString()} presented certificate ${revocation.serial}, revoked at ${revocation.revokedAt.toISOString()} (reason ${revocation.reason})`);
  }
}

/** The peer's SPIFFE ID; throws PeerVerificationError (PeerRevokedError when a CRL lists a certificate of the chain). */
export function authorizePeer(chainDer: readonly Uint8Array[], source: X509Source, expected: ExpectedPeer, now: Date): SpiffeId {
  const peer = verifyPeerChain(chainDer, source.bundles, expected, now);
  for (const der of chainDer) {
    const revocation = source.revocations.revocationOf(der);
    if (revocation) throw new PeerRevokedError(peer, revocation);
  }
  return peer;
}
