import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import type { Clock } from '../../common/clock.js';
import { agentIdPathPrefix } from '../../common/grpc/agent-api-types.js';
import { verifyX509SvidChain } from '../../spiffe/x509-svid-verify.js';
import type { AgentRecord } from '../../store/agents.js';
import type { Store } from '../../store/store.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { normalizeSerialHex } from '../../pki/serial.js';

export interface TlsPeer {
  /** DER chain the client presented, leaf first; empty without a client certificate. */
  chainDer: Buffer[];
}

export class AgentAuthError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
    readonly reason: 'unauthenticated' | 'banned' | 'evicted' | 'denied' = code === grpc.status.UNAUTHENTICATED ? 'unauthenticated' : 'denied',
    /** Who was refused, for the audit log: `agent:<id>` once the SVID is proven to be that agent's, else the SPIFFE ID it names, else anonymous. */
    readonly actor = 'anonymous',
  ) {
    super(message);
  }
}

/**
 * Who is calling: the agent whose current SVID the client certificate is. Checked on every call,
 * against the bundle of that moment, so a CA rotation, a ban or an eviction takes effect at once.
 */
export function authenticateAgent(peer: TlsPeer | undefined, store: Store, ca: CertificateAuthority, clock: Clock): AgentRecord {
  if (!peer || peer.chainDer.length === 0) throw new AgentAuthError(grpc.status.UNAUTHENTICATED, 'an agent SVID (client certificate) is required');
  let spiffeId: string;
  try {
    spiffeId = verifyX509SvidChain(peer.chainDer, ca.x509BundleDer(), clock.now(), ca.trustDomain).toString();
  } catch (err) {
    throw new AgentAuthError(grpc.status.UNAUTHENTICATED, `agent SVID rejected: ${(err as Error).message}`);
  }
  if (!spiffeId.startsWith(`spiffe://${ca.trustDomain}${agentIdPathPrefix}`)) {
    throw new AgentAuthError(grpc.status.PERMISSION_DENIED, `${spiffeId} is not an agent SPIFFE ID`, 'denied', spiffeId);
  }
  // A revoked agent SVID is refused even though it chains (it is on the CRL).
  const serial = normalizeSerialHex(new X509Certificate(peer.chainDer[0] as Buffer).serialNumber);
  const issued = store.issuedSvids.get(serial);
  if (issued?.revokedAt) throw new AgentAuthError(grpc.status.PERMISSION_DENIED, 'agent SVID is revoked: attest again with a new join token', 'evicted', spiffeId);
  const agent = store.agents.getBySpiffeId(spiffeId);
  if (!agent) throw new AgentAuthError(grpc.status.PERMISSION_DENIED, 'agent is not attested (evicted or unknown): attest again with a new join token', 'evicted', spiffeId);
  // The SPIFFE ID alone does not make an agent: our CA also signs SVIDs an operator mints or an
  // entry names, and one of those may carry an agent's ID. Only an SVID issued to this agent
  // (at attestation or renewal) speaks for it.
  if (issued?.kind !== 'agent' || issued.agentId !== agent.id) {
    throw new AgentAuthError(grpc.status.PERMISSION_DENIED, `the client certificate (serial ${serial}) is not an agent SVID issued to ${spiffeId}`, 'denied', spiffeId);
  }
  if (agent.banned) throw new AgentAuthError(grpc.status.PERMISSION_DENIED, 'agent is banned', 'banned', `agent:${agent.id}`);
  return agent;
}
