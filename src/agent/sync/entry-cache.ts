import type { ProtoEntry } from '../../common/grpc/agent-api-types.js';

import type { Selector } from '../attestation/selector.js';
import { SelectorIndex, selectorKey } from './selector-index.js';

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

/** SPIRE's rule: an entry matches a caller when every one of its selectors is among the caller's. */
export function entryMatches(entry: AgentEntry, callerSelectors: ReadonlySet<string>): boolean {
  return entry.selectors.every((s) => callerSelectors.has(selectorKey(s)));
}

export function selectorSet(selectors: readonly Selector[]): Set<string> {
  return new Set(selectors.map(selectorKey));
}

/** One string per selector set, the same for equal sets whatever their order. */
export function selectorSetKey(selectors: ReadonlySet<string>): string {
  return JSON.stringify([...selectors].sort());
}

const oldestFirst = (a: AgentEntry, b: AgentEntry) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);

/** The entries this agent is authorized for, as synced from the server. */
export class EntryCache {
  private readonly entries = new Map<string, AgentEntry>();
  private readonly index = new SelectorIndex();
  private changes = 0;

  apply(upserted: readonly AgentEntry[], removed: readonly string[]): { changed: string[] } {
    const changed: string[] = [];
    for (const id of removed) {
      if (!this.entries.delete(id)) continue;
      this.index.remove(id);
      changed.push(id);
    }
    for (const e of upserted) {
      this.entries.set(e.id, e);
      this.index.add(e.id, e.selectors);
      changed.push(e.id);
    }
    if (changed.length) this.changes++;
    return { changed };
  }

  /** Moves on every change, so that matches computed earlier can tell they may be stale. */
  get revision(): number {
    return this.changes;
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
    const matched: AgentEntry[] = [];
    for (const id of this.index.candidates(callerSelectors)) {
      const entry = this.entries.get(id);
      if (entry && entryMatches(entry, callerSelectors)) matched.push(entry);
    }
    return matched.sort(oldestFirst);
  }

  /** `matching` for one selector set, computed again only after the entries changed. */
  matcher(callerSelectors: ReadonlySet<string>): () => readonly AgentEntry[] {
    let matchedAt = -1;
    let matched: AgentEntry[] = [];
    return () => {
      if (matchedAt !== this.changes) {
        matched = this.matching(callerSelectors);
        matchedAt = this.changes;
      }
      return matched;
    };
  }

  get size(): number {
    return this.entries.size;
  }
}
