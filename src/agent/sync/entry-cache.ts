import type { ProtoEntry } from '../../common/grpc/agent-api-types.js';

import type { Selector } from '../attestation/selector.js';

/** A registration entry as the agent holds it. */
export interface AgentEntry {
  id: string;
  spiffeId: string;
  parentId: string;
  selectors: Selector[];
  dnsNames: string[];
  x509SvidTtl: number;
  jwtSvidTtl: number;
  hint: string;
  admin: boolean;
  revision: number;
  createdAt: number;
}

export function entryFromProto(e: ProtoEntry): AgentEntry {
  return {
    id: e.id,
    spiffeId: e.spiffe_id,
    parentId: e.parent_id,
    selectors: e.selectors.map((s) => ({ type: s.type, value: s.value })),
    dnsNames: [...e.dns_names],
    x509SvidTtl: Number(e.x509_svid_ttl),
    jwtSvidTtl: Number(e.jwt_svid_ttl),
    hint: e.hint,
    admin: e.admin,
    revision: Number(e.revision),
    createdAt: Number(e.created_at),
  };
}

const selectorKey = (s: Selector) => `${s.type}:${s.value}`;

/** SPIRE's rule: an entry matches a caller when every one of its selectors is among the caller's. */
export function entryMatches(entry: AgentEntry, callerSelectors: ReadonlySet<string>): boolean {
  return entry.selectors.every((s) => callerSelectors.has(selectorKey(s)));
}

export function selectorSet(selectors: readonly Selector[]): Set<string> {
  return new Set(selectors.map(selectorKey));
}

/** The entries this agent is authorized for, as synced from the server. */
export class EntryCache {
  private readonly entries = new Map<string, AgentEntry>();

  apply(upserted: readonly AgentEntry[], removed: readonly string[]): { changed: string[] } {
    const changed: string[] = [];
    for (const id of removed) if (this.entries.delete(id)) changed.push(id);
    for (const e of upserted) {
      this.entries.set(e.id, e);
      changed.push(e.id);
    }
    return { changed };
  }

  get(id: string): AgentEntry | undefined {
    return this.entries.get(id);
  }

  all(): AgentEntry[] {
    return [...this.entries.values()];
  }

  revisions(): { id: string; revision: number }[] {
    return this.all().map((e) => ({ id: e.id, revision: e.revision }));
  }

  /** Entries for a caller, oldest first: the first is the caller's default identity (WL-30). */
  matching(callerSelectors: ReadonlySet<string>): AgentEntry[] {
    return this.all()
      .filter((e) => entryMatches(e, callerSelectors))
      .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
  }

  get size(): number {
    return this.entries.size;
  }
}
