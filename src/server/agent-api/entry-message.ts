import type { ProtoEntry } from '../../common/grpc/agent-api-types.js';
import type { Entry } from '../../store/entries.js';

export function entryToProto(e: Entry): ProtoEntry {
  return {
    id: e.id,
    spiffe_id: e.spiffeId,
    parent_id: e.parentId,
    selectors: e.selectors,
    dns_names: e.dnsNames,
    x509_svid_ttl: e.x509SvidTtl,
    jwt_svid_ttl: e.jwtSvidTtl,
    hint: e.hint,
    admin: e.admin,
    revision: e.revision,
    created_at: e.createdAt,
  };
}

export interface EntryChangeSet {
  upserted: Entry[];
  removed: string[];
}

/** What an agent must change to go from `known` (id -> revision) to `current`. */
export function diffEntries(known: ReadonlyMap<string, { revision: number }>, current: readonly Entry[]): EntryChangeSet {
  return diffEntriesWithin(known, current, known.keys());
}

/**
 * The same, when only the entries in `scope` may have changed: `current` holds those of them that
 * are authorized now, and ids outside `scope` stay as they are.
 */
export function diffEntriesWithin(known: ReadonlyMap<string, { revision: number }>, current: readonly Entry[], scope: Iterable<string>): EntryChangeSet {
  const currentIds = new Set(current.map((e) => e.id));
  return {
    upserted: current.filter((e) => known.get(e.id)?.revision !== e.revision),
    removed: [...scope].filter((id) => known.has(id) && !currentIds.has(id)),
  };
}
