import { createHash } from 'node:crypto';
import { concatDer } from '../../pki/pem.js';
import { encodeJwtBundleJwks, type SpiffeBundle } from '../../spiffe/bundle.js';
import type { AgentTrustState } from '../sync/trust-state.js';

/**
 * Computed once per object: the agent replaces its bundle and its trust state with new objects on
 * every change (never edits them), so an object's fingerprint never goes stale.
 */
function oncePerObject<K extends object, V>(compute: (key: K) => V): (key: K) => V {
  const computed = new WeakMap<K, V>();
  return (key) => {
    let value = computed.get(key);
    if (value === undefined) {
      value = compute(key);
      computed.set(key, value);
    }
    return value;
  };
}

const sha256Hex = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const emptyBundle: SpiffeBundle = { x509Authorities: [], jwtAuthorities: [] };

/** Changes exactly when the CRLs handed to workloads change (hashed once, when the trust message is applied). */
export const crlFingerprint = (trust: AgentTrustState): string => trust.crlsFingerprint;

const rootsOf = oncePerObject((bundle: SpiffeBundle) => sha256Hex(concatDer(bundle.x509Authorities)));
const jwksOf = oncePerObject((bundle: SpiffeBundle) => encodeJwtBundleJwks(bundle.jwtAuthorities));

/** SHA-256 of the bundle's X.509 authorities (none without a bundle). */
export const x509RootsFingerprint = (bundle: SpiffeBundle | undefined): string => rootsOf(bundle ?? emptyBundle);

/** The bundle's JWT authorities as a JWKS document (an empty one without a bundle). */
export const jwtBundleJwks = (bundle: SpiffeBundle | undefined): string => jwksOf(bundle ?? emptyBundle);
