import { EntryCache, type AgentEntry } from '../../../../src/agent/sync/entry-cache.js';

let created = 0;

/** An entry as the agent holds it; `selectors` in `type:value` form. */
export function agentEntry(spiffeId: string, selectors: string[], extra: Partial<AgentEntry> = {}): AgentEntry {
  created++;
  return {
    id: `entry-${created}`,
    spiffeId,
    parentId: 'spiffe://a.org/agent',
    selectors: selectors.map((s) => {
      const at = s.indexOf(':');
      return { type: s.slice(0, at), value: s.slice(at + 1) };
    }),
    dnsNames: [],
    x509SvidTtl: 3600,
    jwtSvidTtl: 300,
    hint: '',
    admin: false,
    revision: 0,
    createdAt: created,
    ...extra,
  };
}

export function entryCache(...entries: AgentEntry[]): EntryCache {
  const cache = new EntryCache();
  cache.apply(entries, []);
  return cache;
}
