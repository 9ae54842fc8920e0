import type { Selector } from '../../attestation/selector.js';
import { selectorSet, type AgentEntry, type EntryCache } from '../../sync/entry-cache.js';
import type { DelegateScope } from './scope.js';

/** The workload a delegate asks for: selectors it named, or selectors the agent attested for a pid. */
export interface TargetSelectors {
  selectors: readonly Selector[];
  attestedByAgent: boolean;
}

export type DelegatedEntries = { allowed: true; entries: AgentEntry[] } | { allowed: false; details: string };

export const outsideScopeText = "selectors outside the delegate's scope";

/**
 * The entries a delegate obtains for a target: the union over its scopes. Under each scope, named
 * selectors must all be allowed (else that scope gives nothing), while selectors the agent
 * attested for a pid are cut down to the allowed ones, so the pid route reaches no further than
 * asking by allowed selectors would. Entries outside the scope's SPIFFE ID prefixes are dropped,
 * and admin entries are never handed out (DI-05, DI-07).
 */
export function delegatedEntries(target: TargetSelectors, scopes: readonly DelegateScope[], entries: EntryCache): DelegatedEntries {
  const found = new Map<string, AgentEntry>();
  let anyScopeApplies = false;
  for (const scope of scopes) {
    const allowed = target.selectors.filter((s) => scope.allowsSelector(s));
    if (!target.attestedByAgent && allowed.length !== target.selectors.length) continue;
    anyScopeApplies = true;
    for (const entry of entries.matching(selectorSet(allowed))) {
      if (!entry.admin && scope.allowsSpiffeId(entry.spiffeId)) found.set(entry.id, entry);
    }
  }
  if (!anyScopeApplies) {
    const refused = target.selectors.filter((s) => !scopes.some((scope) => scope.allowsSelector(s)));
    // Each selector may be allowed by some scope while no one scope allows them all: name them all.
    const named = refused.length > 0 ? refused : target.selectors;
    return { allowed: false, details: `${outsideScopeText}: ${named.map((s) => `${s.type}:${s.value}`).join(', ')}` };
  }
  return { allowed: true, entries: [...found.values()].sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1)) };
}
