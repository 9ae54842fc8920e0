import { createHash } from 'node:crypto';
import type { SvidCache } from '../../cache/svid-cache.js';
import type { AgentEntry } from '../../sync/entry-cache.js';
import { readySvids } from '../workload-identities.js';
import type { StreamState } from '../state-stream.js';
import type { SubscribeToX509SvidsResponse } from './messages.js';
import { toX509SvidWithKey } from './svid-messages.js';

/** The usable SVIDs of the entries a delegate obtains, as every stream of that delegate and target may send them. */
export interface DelegatedSvids {
  /** Every obtained entry has a usable SVID. */
  complete: boolean;
  /** Changes exactly when the message does. */
  fingerprint: string;
  message: SubscribeToX509SvidsResponse;
}

/** `previous` is returned as it is when nothing in it changed. */
export function delegatedSvids(entries: readonly AgentEntry[], svids: Pick<SvidCache, 'get'>, now: number, previous?: DelegatedSvids): DelegatedSvids {
  const ready = readySvids(entries, svids, now);
  const complete = ready.length === entries.length;
  const fingerprint = createHash('sha256')
    .update(ready.map((s) => `${s.entryId}/${s.serial}/${s.hint}`).join(','))
    .digest('hex');
  if (previous && previous.fingerprint === fingerprint && previous.complete === complete) return previous;
  // Sigil does not federate yet: no other trust domain to name in federates_with.
  return { complete, fingerprint, message: { x509_svids: ready.map(toX509SvidWithKey), federates_with: [] } };
}

/**
 * What one SubscribeToX509SVIDs stream sends next. The first message waits until every obtained
 * entry has a usable SVID: Cilium replaces its whole store with each message, so a partial first
 * message would read as the deletion of every identity left out (consumers §1.7; SPIRE blocks the
 * same way). Later messages carry the SVIDs that are usable: a new entry appears once signed, a
 * revoked SVID leaves at once.
 */
export class X509SvidsSubscription {
  private firstSent = false;

  next(svids: DelegatedSvids): StreamState<SubscribeToX509SvidsResponse> {
    if (!this.firstSent && !svids.complete) return { kind: 'wait' };
    this.firstSent = true;
    return { kind: 'send', fingerprint: svids.fingerprint, message: svids.message };
  }
}
