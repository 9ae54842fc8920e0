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

/** What an agent must change to go from `known` (id -> revision) to `current`. */
export function diffEntries(known: ReadonlyMap<string, number>, current: readonly Entry[]): { upserted: Entry[]; removed: string[] } {
  const currentIds = new Set(current.map((e) => e.id));
  return {
    upserted: current.filter((e) => known.get(e.id) !== e.revision),
    removed: [...known.keys()].filter((id) => !currentIds.has(id)),
  };
}
