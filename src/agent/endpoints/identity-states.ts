import * as grpc from '@grpc/grpc-js';
import type { JwtBundlesResponse, X509BundlesResponse, X509SvidResponse } from '../../common/grpc/workload-api-types.js';
import { concatDer } from '../../pki/pem.js';
import type { SvidCache } from '../cache/svid-cache.js';
import type { AgentNode } from '../node/agent-node.js';
import type { AgentEntry } from '../sync/entry-cache.js';
import { sendState, type StreamState } from './state-stream.js';
import { crlFingerprint, jwtBundleJwks, x509RootsFingerprint } from './trust-fingerprints.js';
import { dedupeHints, readySvids, toX509SvidMessage } from './workload-identities.js';

// What a caller's X.509-SVID, X.509 bundle and JWT bundle streams send, from its matched entries:
// the same for the Workload API and the Broker API.

export interface IdentityInputs {
  svids: Pick<SvidCache, 'get' | 'isOverLimit' | 'limit'>;
  node: Pick<AgentNode, 'bundle' | 'trustState' | 'trust'>;
  now(): number;
}

export const noIdentity = 'no identity issued';

/** A stream's state from the caller's entries; `previous` is returned as is when nothing it shows changed. */
export type IdentityState<M> = (matched: readonly AgentEntry[], inputs: IdentityInputs, previous?: StreamState<M>) => StreamState<M>;

const trustDomainKey = (inputs: IdentityInputs) => `spiffe://${inputs.node.trust.trustDomain}`;
const crls = (inputs: IdentityInputs) => inputs.node.trustState.crlsDer.map((d) => Buffer.from(d));

export function x509SvidState(matched: readonly AgentEntry[], inputs: IdentityInputs, previous?: StreamState<X509SvidResponse>): StreamState<X509SvidResponse> {
  if (matched.length === 0) return { kind: 'deny', details: noIdentity };
  const ready = dedupeHints(readySvids(matched, inputs.svids, inputs.now()));
  if (ready.length === 0 && matched.every((e) => inputs.svids.isOverLimit(e.id))) return overLimitDenial(matched, inputs.svids.limit);
  // Entries exist but their SVIDs are being signed: the stream waits (lessons row 15).
  if (ready.length === 0) return { kind: 'wait' };
  const { bundle, trustState } = inputs.node;
  const fingerprint = `${ready.map((s) => s.serial).join(',')}|${x509RootsFingerprint(bundle)}|${crlFingerprint(trustState)}`;
  return sendState(fingerprint, previous, () => {
    const roots = bundle?.x509Authorities ?? [];
    return { svids: ready.map((s) => toX509SvidMessage(s, roots)), crl: crls(inputs), federated_bundles: {} };
  });
}

/** Every identity of the caller is beyond max_svids: say so rather than leave the stream waiting for nothing. */
function overLimitDenial(matched: readonly AgentEntry[], limit: number): StreamState<never> {
  const named = matched.slice(0, 3).map((e) => `${e.spiffeId} (entry ${e.id})`).join(', ');
  return {
    kind: 'deny',
    code: grpc.status.RESOURCE_EXHAUSTED,
    details: `this agent holds max_svids (${limit}) SVIDs already, so ${named}${matched.length > 3 ? ` and ${matched.length - 3} more` : ''} get none: raise max_svids in the agent config`,
  };
}

export function x509BundlesState(matched: readonly AgentEntry[], inputs: IdentityInputs, previous?: StreamState<X509BundlesResponse>): StreamState<X509BundlesResponse> {
  if (matched.length === 0) return { kind: 'deny', details: noIdentity };
  const { bundle, trustState } = inputs.node;
  return sendState(`${x509RootsFingerprint(bundle)}|${crlFingerprint(trustState)}`, previous, () => ({
    crl: crls(inputs),
    bundles: { [trustDomainKey(inputs)]: Buffer.from(concatDer(bundle?.x509Authorities ?? [])) },
  }));
}

export function jwtBundlesState(matched: readonly AgentEntry[], inputs: IdentityInputs, previous?: StreamState<JwtBundlesResponse>): StreamState<JwtBundlesResponse> {
  if (matched.length === 0) return { kind: 'deny', details: noIdentity };
  const jwks = jwtBundleJwks(inputs.node.bundle);
  return sendState(jwks, previous, () => ({ bundles: { [trustDomainKey(inputs)]: Buffer.from(jwks) } }));
}
