/** The client half of SPIFFE mTLS: present the current SVID, accept only the expected server, and not a revoked one. */
import type { ConnectionOptions, PeerCertificate } from 'node:tls';
import { peerChainDer, type ExpectedPeer } from '../tls-identity.js';
import { authorizePeer } from './peer-authorization.js';
import type { SpiffeTlsContext } from './spiffe-tls-context.js';

export interface SpiffeTlsClientOptions {
  /** The server to accept: a SPIFFE ID, or a predicate on it. */
  authorize: ExpectedPeer;
  now?: () => Date;
}

export type SpiffeConnectionOptions = Required<Pick<ConnectionOptions, 'secureContext' | 'rejectUnauthorized' | 'checkServerIdentity'>>;

/**
 * For one `tls.connect` or `https.request` (with `agent: false`, so no pooled connection or
 * cached session outlives a rotation). Throws NoSvidError when there is no SVID to present.
 */
export function spiffeClientTlsOptions(context: SpiffeTlsContext, options: SpiffeTlsClientOptions): SpiffeConnectionOptions {
  const now = options.now ?? (() => new Date());
  return {
    secureContext: context.secureContext(),
    rejectUnauthorized: true,
    // Node checks hostnames against DNS SANs only; a SPIFFE server is named by its URI SAN instead.
    checkServerIdentity: (_hostname: string, cert: PeerCertificate) => {
      try {
        authorizePeer(peerChainDer(cert), context.source, options.authorize, now());
        return undefined;
      } catch (err) {
        return err as Error;
      }
    },
  };
}
