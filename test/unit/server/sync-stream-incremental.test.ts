import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { after, afterEach, beforeEach, describe, it, mock, type Mock } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { FakeClock } from '../../../src/common/clock.js';
import type { EntryRevision, ProtoEntry, SyncMessage, SyncRequest } from '../../../src/common/grpc/agent-api-types.js';
import { silentLogger } from '../../../src/common/logger.js';
import type { CertificateAuthority } from '../../../src/server/ca/certificate-authority.js';
import { entryToProto } from '../../../src/server/agent-api/entry-message.js';
import { AgentSyncStream, maxIncrementalCandidates } from '../../../src/server/agent-api/sync-stream.js';
import type { AgentRecord } from '../../../src/store/agents.js';
import type { Entry, EntryStore } from '../../../src/store/entries.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { agentSpiffeIds, applyRandomChange, entryFields, seededRandom, unattachedSpiffeId, workloadSpiffeIds } from '../../helpers/entry-graphs.js';
import { tempDir } from '../../helpers/test-server.js';

// AgentSyncStream on a real store, with a stand-in for the gRPC call that applies every entries
// message to a copy of what the agent would hold. After each burst of changes, that copy must
// equal a full authorizedFor for every agent; the spy on authorizedFor shows which path ran.

const dir = tempDir('sigil-sync-incremental-');
after(() => rmSync(dir, { recursive: true, force: true }));

/** The server side of one Sync call, holding what the agent would hold after each message. */
class AgentView extends EventEmitter {
  readonly held = new Map<string, ProtoEntry>();
  readonly messages: SyncMessage[] = [];

  constructor(
    readonly agentSpiffeId: string,
    readonly request: SyncRequest,
  ) {
    super();
  }

  write(message: SyncMessage): boolean {
    this.messages.push(message);
    for (const e of message.entries?.upserted ?? []) this.held.set(e.id, e);
    for (const id of message.entries?.removed ?? []) this.held.delete(id);
    return true;
  }

  end(): void {
    this.emit('close');
  }
}

let store: Store;
let files = 0;
let authorizedForCalls: Mock<EntryStore['authorizedFor']>;
let fullSet: (agentSpiffeId: string) => Entry[];
let views: AgentView[];
const clock = new FakeClock();

beforeEach(() => {
  store = openStore(join(dir, `store-${++files}.db`));
  fullSet = store.entries.authorizedFor.bind(store.entries);
  authorizedForCalls = mock.method(store.entries, 'authorizedFor');
  views = [];
});

afterEach(() => {
  for (const view of views) view.emit('cancelled');
  mock.restoreAll();
  store.close();
});

function agentRecord(spiffeId: string): AgentRecord {
  return { id: spiffeId.slice(spiffeId.lastIndexOf('/') + 1), spiffeId, attestationType: 'join_token', svidSerial: null, svidNotAfter: null, banned: false, createdAt: 0, updatedAt: 0, lastSeenAt: null, reportedStatus: null, statusReportedAt: null };
}

/** `alreadyHeld`: what the agent holds when it (re)connects, and says it holds. */
function openStream(agentSpiffeId: string, alreadyHeld: ProtoEntry[] = []): AgentView {
  const knownEntries: EntryRevision[] = alreadyHeld.map((e) => ({ id: e.id, revision: e.revision }));
  const view = new AgentView(agentSpiffeId, { after_event_id: 0, known_entries: knownEntries, bundle_sequence: '1' });
  for (const e of alreadyHeld) view.held.set(e.id, e);
  const agent = agentRecord(agentSpiffeId);
  const ca = { bundleSequence: () => 1n } as unknown as CertificateAuthority;
  new AgentSyncStream(view as unknown as grpc.ServerWritableStream<SyncRequest, SyncMessage>, agent, {
    store,
    ca,
    clock,
    log: silentLogger,
    bundleJson: () => '{}',
    authenticate: () => agent,
    trustState: () => ({ fingerprint: '', message: { tainted_x509_authorities: [], tainted_jwt_kids: [], crls: [] } }),
  }).start();
  views.push(view);
  return view;
}

/** Change the store and append the event in one transaction, as the REST API does. */
function change(type: 'entry.created' | 'entry.updated' | 'entry.deleted', apply: (now: number) => Entry): Entry {
  const now = clock.now().getTime();
  return store.transaction(() => {
    const entry = apply(now);
    store.events.append(now, type, entry.id);
    return entry;
  });
}

const create = (spiffeId: string, parentId: string) => change('entry.created', (now) => store.entries.create(entryFields(spiffeId, parentId), now));
const update = (id: string, fields: { spiffeId?: string; parentId?: string }) => change('entry.updated', (now) => store.entries.update(id, fields, now));
const remove = (id: string) => change('entry.deleted', () => store.entries.delete(id));

/** Event listeners run on the next turn of the event loop (EventLog.scheduleNotify). */
const settle = () => nextTurn();

function withStaleAndGoneEntries(held: ProtoEntry[]): ProtoEntry[] {
  const [first, ...rest] = held;
  if (!first) return [];
  return [{ ...first, revision: Number(first.revision) - 1, hint: 'stale' }, { ...first, id: 'gone-entry' }, ...rest];
}

const sortedById = (entries: Iterable<ProtoEntry>) => [...entries].sort((a, b) => a.id.localeCompare(b.id));

function assertViewEqualsFullSet(view: AgentView, context: string): void {
  const expected = fullSet(view.agentSpiffeId).map(entryToProto);
  assert.deepEqual(sortedById(view.held.values()), sortedById(expected), `${context}: agent ${view.agentSpiffeId}`);
}

const [agentA = '', agentB = '', agentC = ''] = agentSpiffeIds;
const w = (i: number) => workloadSpiffeIds[i] as string;
const heldIds = (view: AgentView) => [...view.held.keys()].sort();
const idsOf = (...entries: Entry[]) => entries.map((e) => e.id).sort();

describe('sync stream: incremental entry changes', () => {
  it('after random creates, re-parentings, renames and deletes over nested trees, every agent holds exactly its full authorized set', async () => {
    for (let seed = 1; seed <= 12; seed++) {
      const random = seededRandom(seed);
      authorizedForCalls.mock.resetCalls();
      const streams = agentSpiffeIds.map((agent) => openStream(agent));
      for (let burst = 0; burst < 60; burst++) {
        const size = 1 + Math.floor(random() * 5);
        for (let i = 0; i < size; i++) {
          store.transaction(() => {
            const { type, id } = applyRandomChange(store.entries, random, clock.now().getTime());
            store.events.append(clock.now().getTime(), type, id);
          });
        }
        // A stream opened mid-run by an agent that holds one stale entry and one deleted one must converge too.
        if (burst === 30) streams.push(openStream(agentB, withStaleAndGoneEntries([...(streams[1]?.held.values() ?? [])])));
        await settle();
        for (const view of streams) assertViewEqualsFullSet(view, `seed ${seed}, burst ${burst}`);
      }
      assert.equal(authorizedForCalls.mock.callCount(), streams.length, `seed ${seed}: one full computation per stream, at its start; every change took the incremental path`);
      for (const view of streams) view.emit('cancelled');
      for (const e of store.entries.list({}, { pageSize: 10_000 }).items) remove(e.id);
      await settle();
    }
  });

  // Named cases: the nesting changes that reach entries the event does not name.
  const cases: { name: string; run: () => Promise<void> }[] = [
    {
      name: 'deleting an intermediate entry removes what is nested under it; re-creating it brings them back',
      run: async () => {
        const a = openStream(agentA);
        const top = create(w(0), agentA);
        const mid = create(w(1), w(0));
        const leaf = create(w(2), w(1));
        await settle();
        assert.deepEqual(heldIds(a), idsOf(top, mid, leaf));
        remove(mid.id);
        await settle();
        assert.deepEqual(heldIds(a), idsOf(top));
        assert.deepEqual(a.messages.at(-1)?.entries?.removed.sort(), idsOf(mid, leaf));
        const again = create(w(1), w(0));
        await settle();
        assert.deepEqual(heldIds(a), idsOf(top, again, leaf));
      },
    },
    {
      name: 'renaming an intermediate entry (spiffe_id) cuts off its nested entries; renaming it back restores them',
      run: async () => {
        const a = openStream(agentA);
        const top = create(w(0), agentA);
        const leaf = create(w(3), w(0));
        await settle();
        update(top.id, { spiffeId: w(1) });
        await settle();
        assert.deepEqual(heldIds(a), idsOf(top));
        update(top.id, { spiffeId: w(0) });
        await settle();
        assert.deepEqual(heldIds(a), idsOf(top, leaf));
      },
    },
    {
      name: 'moving a subtree from agent A to agent B moves every nested entry with it',
      run: async () => {
        const a = openStream(agentA);
        const b = openStream(agentB);
        const top = create(w(0), agentA);
        const mid = create(w(1), w(0));
        const leaf = create(w(2), w(1));
        await settle();
        update(top.id, { parentId: agentB });
        await settle();
        assert.deepEqual(heldIds(a), []);
        assert.deepEqual(heldIds(b), idsOf(top, mid, leaf));
      },
    },
    {
      name: 'an entry held through two parents stays while one of them remains',
      run: async () => {
        const a = openStream(agentA);
        const viaA = create(w(0), agentA);
        const alsoViaA = create(w(0), w(5));
        const parentOfAlso = create(w(5), agentA);
        const leaf = create(w(1), w(0));
        await settle();
        remove(viaA.id);
        await settle();
        assert.deepEqual(heldIds(a), idsOf(alsoViaA, parentOfAlso, leaf));
      },
    },
    {
      name: 'a cycle attached to no agent is held by nobody until one member is attached',
      run: async () => {
        const a = openStream(agentA);
        const c = openStream(agentC);
        const one = create(w(0), w(1));
        const two = create(w(1), w(0));
        const hanging = create(w(2), w(1));
        await settle();
        assert.deepEqual(heldIds(a), []);
        const anchor = create(w(0), agentA);
        await settle();
        assert.deepEqual(heldIds(a), idsOf(one, two, hanging, anchor));
        assert.deepEqual(heldIds(c), []);
        update(anchor.id, { parentId: unattachedSpiffeId });
        await settle();
        assert.deepEqual(heldIds(a), []);
      },
    },
  ];
  for (const { name, run } of cases) {
    it(name, async () => {
      await run();
      for (const view of views) assertViewEqualsFullSet(view, name);
      assert.equal(authorizedForCalls.mock.callCount(), views.length, 'only the start of each stream computed the full set');
    });
  }

  it(`a burst naming more than ${maxIncrementalCandidates} entries falls back to one full recomputation, with the same result`, async () => {
    const a = openStream(agentA);
    const top = create(w(0), agentA);
    await settle();
    store.transaction(() => {
      for (let i = 0; i <= maxIncrementalCandidates; i++) create(w(1), w(0));
    });
    await settle();
    assert.equal(authorizedForCalls.mock.callCount(), 2);
    assert.equal(a.held.size, maxIncrementalCandidates + 2);
    assertViewEqualsFullSet(a, 'after the large burst');
    // A change whose nested entries exceed the limit takes the full path too.
    remove(top.id);
    await settle();
    assert.equal(authorizedForCalls.mock.callCount(), 3);
    assert.equal(a.held.size, 0);
  });

  it('an entry event of a kind the stream does not know is handled by a full recomputation', async () => {
    const a = openStream(agentA);
    const now = clock.now().getTime();
    const entry = store.transaction(() => {
      const e = store.entries.create(entryFields(w(0), agentA), now);
      store.events.append(now, 'entry.imported', 'batch-1');
      return e;
    });
    await settle();
    assert.equal(authorizedForCalls.mock.callCount(), 2);
    assert.deepEqual(heldIds(a), idsOf(entry));
  });
});
