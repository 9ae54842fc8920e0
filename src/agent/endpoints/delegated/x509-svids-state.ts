import { createHash } from 'node:crypto';
import type { SvidCache } from '../../cache/svid-cache.js';
import type { AgentEntry } from '../../sync/entry-cache.js';
import { readySvids } from '../workload-identities.js';
import type { StreamState } from '../state-stream.js';
import type { SubscribeToX509SvidsResponse } from './messages.js';
import { toX509SvidWithKey } from './svid-messages.js';

/**
 * What one SubscribeToX509SVIDs stream sends next, given the entries the delegate obtains.
 * The first message waits until every one of them has a usable SVID: Cilium replaces its whole
 * store with each message, so a partial first message would read as the deletion of every
 * identity left out (consumers §1.7; SPIRE blocks the same way). Later messages carry the SVIDs
 * that are usable: a new entry appears once signed, a revoked SVID leaves at once.
 */
export class X509SvidsSubscription {
  private firstSent = false;

  constructor(
    private readonly svids: Pick<SvidCache, 'get'>,
    private readonly now: () => number,
  ) {}

  next(entries: readonly AgentEntry[]): StreamState<SubscribeToX509SvidsResponse> {
    const ready = readySvids(entries, this.svids, this.now());
    if (!this.firstSent && ready.length < entries.length) return { kind: 'wait' };
    this.firstSent = true;
    const fingerprint = createHash('sha256')
      .update(ready.map((s) => `${s.entryId}/${s.serial}/${s.hint}`).join(','))
      .digest('hex');
    // Sigil does not federate yet: no other trust domain to name in federates_with.
    return { kind: 'send', fingerprint, message: { x509_svids: ready.map(toX509SvidWithKey), federates_with: [] } };
  }
}
