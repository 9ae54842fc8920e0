import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, describe, it } from 'node:test';
import type { Entry } from '../../../src/store/entries.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { agentSpiffeIds, applyRandomChange, entryFields, pick, seededRandom, unattachedSpiffeId, workloadSpiffeIds } from '../../helpers/entry-graphs.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-entries-authz-');
// A fresh store per test; the previous one is closed first.
let store: Store;
let files = 0;
beforeEach(() => {
  if (files > 0) store.close();
  store = openStore(join(dir, `store-${++files}.db`));
});
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

const [agentA = '', agentB = ''] = agentSpiffeIds;
const now = Date.UTC(2026, 0, 1);
const ids = (entries: readonly Entry[]) => entries.map((e) => e.id).sort();
const create = (spiffeId: string, parentId: string) => store.entries.create(entryFields(spiffeId, parentId), now);
const w = (i: number) => workloadSpiffeIds[i] as string;

/** The entries nested under `spiffeIds`, found by walking all entries in memory (the reference for descendantIds). */
function nestedByWalk(all: readonly Entry[], spiffeIds: readonly string[]): string[] {
  const reached = new Set<string>();
  const frontier = new Set(spiffeIds);
  while (frontier.size) {
    const next = all.filter((e) => frontier.has(e.parentId) && !reached.has(e.id));
    frontier.clear();
    for (const e of next) {
      reached.add(e.id);
      frontier.add(e.spiffeId);
    }
  }
  return [...reached].sort();
}

describe('EntryStore.authorizedAmong (walking up from the asked entries)', () => {
  it('follows nesting up to the agent, refuses other agents\' and unattached entries, and ends cycles', () => {
    const direct = create(w(0), agentA);
    const nested = create(w(1), w(0));
    const deeper = create(w(2), w(1));
    const ofB = create(w(3), agentB);
    const loose = create(w(4), unattachedSpiffeId);
    // w/5 and w/6 are nested under each other and reach no agent; w/7 under w/5 too.
    const cycleOne = create(w(5), w(6));
    const cycleTwo = create(w(6), w(5));
    const underCycle = create(w(7), w(5));
    const asked = [direct, nested, deeper, ofB, loose, cycleOne, cycleTwo, underCycle].map((e) => e.id);
    assert.deepEqual(ids(store.entries.authorizedAmong(agentA, asked)), ids([direct, nested, deeper]));
    assert.deepEqual(ids(store.entries.authorizedAmong(agentB, asked)), ids([ofB]));
    // Attaching one member of the cycle to A brings the whole cycle and what hangs under it.
    const attach = create(w(6), agentA);
    assert.deepEqual(ids(store.entries.authorizedAmong(agentA, [...asked, attach.id])), ids([direct, nested, deeper, cycleOne, cycleTwo, underCycle, attach]));
  });

  it('returns each known entry once, as stored, and nothing for unknown ids or an empty batch', () => {
    const direct = create(w(0), agentA);
    assert.deepEqual(store.entries.authorizedAmong(agentA, [direct.id, direct.id, 'no-such-entry']), [direct]);
    assert.deepEqual(store.entries.authorizedAmong(agentA, []), []);
  });

  it('equals membership in authorizedFor for random graphs, batches and agents', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(seed);
      for (let i = 0; i < 120; i++) applyRandomChange(store.entries, random, now);
      const all = store.entries.list({}, { pageSize: 10_000 }).items;
      for (const agent of agentSpiffeIds) {
        const full = new Set(ids(store.entries.authorizedFor(agent)));
        const batch = [...all.filter(() => random() < 0.3).map((e) => e.id), 'no-such-entry'];
        const expected = batch.filter((id) => full.has(id)).sort();
        assert.deepEqual(ids(store.entries.authorizedAmong(agent, batch)), expected, `seed ${seed}, agent ${agent}, batch`);
        assert.deepEqual(ids(store.entries.authorizedAmong(agent, all.map((e) => e.id))), [...full].sort(), `seed ${seed}, agent ${agent}, all entries`);
      }
      for (const e of all) store.entries.delete(e.id);
    }
  });
});

describe('entries with reserved IDs stored before they were refused (issue 8 item 3)', () => {
  it('are neither held nor followed: an entry named as agent B under agent A gives A nothing of B\'s', () => {
    const ofB = create(w(0), agentB);
    const posingAsB = create(agentB, agentA);
    const posingAsServer = create('spiffe://example.org/sigil/server', agentA);
    const underTheServer = create(w(1), 'spiffe://example.org/sigil/server');
    const own = create(w(2), agentA);
    const asked = [ofB, posingAsB, posingAsServer, underTheServer, own].map((e) => e.id);
    assert.deepEqual(ids(store.entries.authorizedFor(agentA)), ids([own]));
    assert.deepEqual(ids(store.entries.authorizedAmong(agentA, asked)), ids([own]));
    assert.deepEqual(ids(store.entries.authorizedFor(agentB)), ids([ofB]));
  });
});

describe('EntryStore.descendantIds (walking down from SPIFFE IDs)', () => {
  it('finds nested entries at any depth, through cycles, and not the entries above', () => {
    const direct = create(w(0), agentA);
    const nested = create(w(1), w(0));
    const cycleOne = create(w(2), w(1));
    const cycleTwo = create(w(1), w(2));
    create(w(3), agentA);
    assert.deepEqual(store.entries.descendantIds([w(0)], 100).sort(), ids([nested, cycleOne, cycleTwo]));
    assert.deepEqual(store.entries.descendantIds([agentA], 100).sort(), store.entries.list({}, { pageSize: 100 }).items.map((e) => e.id).sort());
    assert.deepEqual(store.entries.descendantIds([w(7)], 100), []);
    assert.deepEqual(store.entries.descendantIds([], 100), []);
    assert.ok(!store.entries.descendantIds([w(1)], 100).includes(direct.id));
  });

  it('stops at the limit', () => {
    for (let i = 0; i < 10; i++) create(w(i % 8), agentA);
    assert.equal(store.entries.descendantIds([agentA], 4).length, 4);
    assert.equal(store.entries.descendantIds([agentA], 100).length, 10);
  });

  it('equals a walk over all entries in memory for random graphs', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = seededRandom(1000 + seed);
      for (let i = 0; i < 120; i++) applyRandomChange(store.entries, random, now);
      const all = store.entries.list({}, { pageSize: 10_000 }).items;
      const from = [pick(random, workloadSpiffeIds), pick(random, [...agentSpiffeIds, unattachedSpiffeId])];
      assert.deepEqual(store.entries.descendantIds(from, 10_000).sort(), nestedByWalk(all, from), `seed ${seed}, from ${from.join(', ')}`);
      for (const e of all) store.entries.delete(e.id);
    }
  });
});
