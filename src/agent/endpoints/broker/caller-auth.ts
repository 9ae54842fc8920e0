import * as grpc from '@grpc/grpc-js';
import { verifyX509SvidChain } from '../../../spiffe/x509-svid-verify.js';
import { BrokerError } from './errors.js';

export const brokerHeader = 'broker.spiffe.io';

/** Endpoint §: exactly one `broker.spiffe.io: true`, else InvalidArgument. */
export function checkBrokerHeader(metadata: grpc.Metadata): void {
  const values = metadata.get(brokerHeader);
  if (values.length !== 1 || values[0] !== 'true') throw new BrokerError(grpc.status.INVALID_ARGUMENT, 'security header missing from request');
}

export interface BrokerCallerPolicy {
  trustDomain: string;
  /** Current X.509 authorities of the agent's trust domain (DER). */
  roots(): readonly Uint8Array[];
  authorizedCallers: readonly string[];
  now(): Date;
}

/**
 * The broker's SPIFFE ID from the chain it presented at the TLS handshake, checked on every call
 * against the current bundle (so a rotated or tainted authority counts at once). No SVID or one
 * that does not verify: Unauthenticated (we do not know who called). A valid SVID whose SPIFFE ID
 * is not allow-listed: PermissionDenied (we know who, and they may not).
 */
export function authenticateBroker(chainDer: readonly Uint8Array[] | undefined, policy: BrokerCallerPolicy): string {
  if (!chainDer || chainDer.length === 0) throw new BrokerError(grpc.status.UNAUTHENTICATED, 'the broker must present an X509-SVID');
  let id: string;
  try {
    id = verifyX509SvidChain(chainDer, policy.roots(), policy.now(), policy.trustDomain).toString();
  } catch (err) {
    throw new BrokerError(grpc.status.UNAUTHENTICATED, `the broker's X509-SVID is not valid: ${(err as Error).message}`);
  }
  if (!policy.authorizedCallers.includes(id)) throw new BrokerError(grpc.status.PERMISSION_DENIED, `${id} is not an authorized broker`);
  return id;
}
