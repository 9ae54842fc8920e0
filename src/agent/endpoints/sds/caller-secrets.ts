import { createHash } from 'node:crypto';
import type { SpiffeBundle } from '../../../spiffe/bundle.js';
import type { SvidCache } from '../../cache/svid-cache.js';
import type { AgentEntry } from '../../sync/entry-cache.js';
import { readySvids } from '../workload-identities.js';
import type { SecretSources, TrustDomainBundle } from './secret-builder.js';

/** What one caller may be served right now, and whether that is worth an SDS update. */
export interface CallerSecrets {
  sources: SecretSources;
  /** SPIFFE IDs of the caller's entries whose SVID is being signed (or replaced after a revocation). */
  pendingSpiffeIds: ReadonlySet<string>;
  /**
   * False before the agent holds a bundle, and while the caller has entries but none of their
   * SVIDs is ready yet: as on the Workload API, the caller waits rather than being told "nothing".
   */
  servable: boolean;
  /** Changes exactly when what the caller may be served changes (a new SDS version). */
  fingerprint: string;
}

export interface CallerSecretsInput {
  entries: readonly AgentEntry[];
  svids: SvidCache;
  bundle: SpiffeBundle | undefined;
  trustDomain: string;
  federatedBundles: readonly TrustDomainBundle[];
  now: number;
}

export function callerSecrets(input: CallerSecretsInput): CallerSecrets {
  const ready = readySvids(input.entries, input.svids, input.now);
  const readyIds = new Set(ready.map((s) => s.spiffeId));
  const pendingSpiffeIds = new Set(input.entries.map((e) => e.spiffeId).filter((id) => !readyIds.has(id)));
  const ownBundle = input.bundle ? { trustDomain: input.trustDomain, x509AuthoritiesDer: input.bundle.x509Authorities } : undefined;

  const hash = createHash('sha256');
  for (const bundle of [...(ownBundle ? [ownBundle] : []), ...input.federatedBundles]) {
    hash.update(`bundle ${bundle.trustDomain}\n`);
    for (const der of bundle.x509AuthoritiesDer) hash.update(der);
  }
  for (const svid of ready) hash.update(`svid ${svid.spiffeId} ${svid.serial}\n`);

  return {
    sources: {
      ownBundle,
      federatedBundles: input.federatedBundles,
      identities: ready.map((s) => ({ spiffeId: s.spiffeId, chainDer: s.chainDer, privateKeyPkcs8: s.privateKeyPkcs8 })),
    },
    pendingSpiffeIds,
    servable: ownBundle !== undefined && (input.entries.length === 0 || ready.length > 0),
    fingerprint: hash.digest('hex'),
  };
}
