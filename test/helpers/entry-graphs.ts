// Random nested entry graphs for the authorization tests: entries under several agents, nested
// under each other's SPIFFE IDs, with shared SPIFFE IDs and cycles, driven by a seeded generator
// so that a failure names a seed that reproduces it.
import type { EntryFields, EntryStore } from '../../src/store/entries.js';

export const graphTrustDomain = 'example.org';

export const agentSpiffeIds = ['a', 'b', 'c'].map((n) => `spiffe://${graphTrustDomain}/sigil/agent/join_token/${n}`);

/** Few workload IDs, so that several entries share one and nesting forms chains and cycles. */
export const workloadSpiffeIds = Array.from({ length: 8 }, (_, i) => `spiffe://${graphTrustDomain}/w/${i}`);

/** A parent that no agent and no entry is: entries under it are held by nobody. */
export const unattachedSpiffeId = `spiffe://${graphTrustDomain}/nobody`;

/** mulberry32: small, fast and good enough to pick test cases; the same seed gives the same run. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error('pick from an empty list');
  return item;
}

let selectorCounter = 0;

/** Entry fields with a selector no other entry has, so that no create or update hits the uniqueness rule. */
export function entryFields(spiffeId: string, parentId: string): EntryFields {
  selectorCounter += 1;
  return { spiffeId, parentId, selectors: [{ type: 'unix', value: `uid:${selectorCounter}` }], dnsNames: [], x509SvidTtl: 600, jwtSvidTtl: 300, hint: '', admin: false };
}

/** Parents are agents about half the time, otherwise workload IDs (nesting) or the unattached ID. */
export function randomParent(random: () => number): string {
  const r = random();
  if (r < 0.45) return pick(random, agentSpiffeIds);
  if (r < 0.95) return pick(random, workloadSpiffeIds);
  return unattachedSpiffeId;
}

export type EntryChange = 'create' | 'reparent' | 'rename' | 'move' | 'touch' | 'delete';

const changes: readonly EntryChange[] = ['create', 'create', 'reparent', 'rename', 'move', 'touch', 'delete'];

/**
 * Apply one random change through the store (without an event; the caller appends it) and return
 * the id of the entry it changed. `reparent` changes parent_id, `rename` spiffe_id, `move` both,
 * `touch` only the hint (a new revision with the same place in the graph).
 */
export function applyRandomChange(entries: EntryStore, random: () => number, now: number): { type: 'entry.created' | 'entry.updated' | 'entry.deleted'; id: string } {
  const existing = entries.list({}, { pageSize: 10_000 }).items;
  const change = existing.length === 0 ? 'create' : pick(random, changes);
  if (change === 'create') return { type: 'entry.created', id: entries.create(entryFields(pick(random, workloadSpiffeIds), randomParent(random)), now).id };
  const target = pick(random, existing);
  if (change === 'delete') return { type: 'entry.deleted', id: entries.delete(target.id).id };
  const fields: Partial<EntryFields> =
    change === 'reparent' ? { parentId: randomParent(random) }
    : change === 'rename' ? { spiffeId: pick(random, workloadSpiffeIds) }
    : change === 'move' ? { parentId: randomParent(random), spiffeId: pick(random, workloadSpiffeIds) }
    : { hint: `touched at ${now}` };
  return { type: 'entry.updated', id: entries.update(target.id, fields, now).id };
}
