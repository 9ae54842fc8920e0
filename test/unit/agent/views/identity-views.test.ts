import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import { setImmediate as nextTick } from 'node:timers/promises';
import { IdentityViews, type ViewSpec } from '../../../../src/agent/endpoints/views/identity-views.js';

interface Versioned {
  key: string;
  version: number;
}

/** An identity whose state is its version; counts how often it is computed. */
class FakeIdentity {
  version = 0;
  computations = 0;

  readonly spec: ViewSpec<Versioned>;

  constructor(key: string) {
    this.spec = {
      key,
      compute: () => {
        this.computations++;
        return { key, version: this.version };
      },
      fingerprint: (state) => String(state.version),
    };
  }
}

function agentEvents() {
  const svids = new EventEmitter();
  const sync = new EventEmitter();
  const node = new EventEmitter();
  const views = new IdentityViews([
    [svids, 'updated'],
    [sync, 'entries'],
    [node, 'trust'],
  ]);
  return { svids, sync, node, views };
}

test('N streams of one identity: one computation per change, and a burst of three events in one tick is one', async () => {
  const { svids, node, views } = agentEvents();
  const identity = new FakeIdentity('uid:1000');
  const heard: number[][] = Array.from({ length: 50 }, () => []);
  const watches = heard.map((log) => views.watch(identity.spec, (state) => log.push(state.version)));
  assert.deepEqual(new Set(watches.map((w) => w.current().version)), new Set([0]));
  assert.equal(identity.computations, 50, 'each new stream computes the state it starts from');

  // A revocation: the trust state, the revoked SVID dropped, another SVID dropped, all in one tick.
  identity.version = 1;
  node.emit('trust', {});
  svids.emit('updated', ['a']);
  svids.emit('updated', ['b']);
  assert.equal(identity.computations, 50, 'nothing is computed while the events of the tick still run');
  await nextTick();
  assert.equal(identity.computations, 51, 'three events, one computation for the 50 streams');
  assert.ok(heard.every((log) => log.length === 1 && log[0] === 1), 'every stream heard of the change once');

  // A change that leaves the state as it was: computed once, no stream hears of it.
  svids.emit('updated', ['c']);
  await nextTick();
  assert.equal(identity.computations, 52);
  assert.ok(heard.every((log) => log.length === 1));
  watches.forEach((w) => w.close());
});

test('a new stream does not start from a state computed before it came (time passes without events); the others hear at the next change', async () => {
  const { svids, views } = agentEvents();
  const identity = new FakeIdentity('uid:1000');
  const heard: number[] = [];
  const open = views.watch(identity.spec, (s) => heard.push(s.version));
  assert.equal(open.current().version, 0);
  identity.version = 1; // e.g. an SVID expired while the server was unreachable: no event
  const late = views.watch(identity.spec, () => undefined);
  assert.equal(late.current().version, 1);
  svids.emit('updated', ['unrelated']);
  await nextTick();
  assert.deepEqual(heard, [1]);
  open.close();
  late.close();
});

test('different identities are isolated: each has its own state, and only the one that changed is heard', async () => {
  const { sync, views } = agentEvents();
  const alice = new FakeIdentity('uid:1');
  const bob = new FakeIdentity('uid:2');
  const heardByAlice: Versioned[] = [];
  const heardByBob: Versioned[] = [];
  const watches = [views.watch(alice.spec, (s) => heardByAlice.push(s)), views.watch(alice.spec, (s) => heardByAlice.push(s)), views.watch(bob.spec, (s) => heardByBob.push(s))];
  bob.version = 7;
  assert.equal(watches[2]?.current().key, 'uid:2');
  assert.equal(watches[0]?.current().key, 'uid:1');
  assert.equal(views.size, 2);

  alice.version = 1;
  sync.emit('entries', ['x']);
  await nextTick();
  assert.deepEqual(heardByAlice.map((s) => `${s.key}@${s.version}`), ['uid:1@1', 'uid:1@1']);
  assert.deepEqual(heardByBob, [], "bob's state did not change");
  assert.equal(alice.computations, 2);
  assert.equal(bob.computations, 2, 'the first computation and the one after the change');
  watches.forEach((w) => w.close());
});

test('a view goes with its last stream, and the events are no longer listened to', async () => {
  const { svids, sync, node, views } = agentEvents();
  const identity = new FakeIdentity('uid:1000');
  const first = views.watch(identity.spec, () => undefined);
  const second = views.watch(identity.spec, () => undefined);
  assert.equal(second.current().version, 0);
  assert.equal(svids.listenerCount('updated'), 1, 'one listener for every view, not one per stream');
  first.close();
  first.close();
  assert.equal(views.size, 1, 'a stream is still open');
  second.close();
  assert.equal(views.size, 0);
  assert.deepEqual([svids.listenerCount('updated'), sync.listenerCount('entries'), node.listenerCount('trust')], [0, 0, 0]);
  identity.version = 1;
  svids.emit('updated', ['a']);
  await nextTick();
  assert.equal(identity.computations, 1, 'no view, no computation');

  const again = views.watch(identity.spec, () => undefined);
  assert.equal(again.current().version, 1, 'a new stream starts from the state now');
  again.close();
});

test('a stream that opens between a change and its handling gets the new state at once, computed once for all', async () => {
  const { node, views } = agentEvents();
  const identity = new FakeIdentity('uid:1000');
  const heard: number[] = [];
  const open = views.watch(identity.spec, (s) => heard.push(s.version));
  open.current();
  identity.version = 1;
  node.emit('trust', {});
  const late = views.watch(identity.spec, () => undefined);
  assert.equal(late.current().version, 1, 'not the state from before the change');
  await nextTick();
  assert.deepEqual(heard, [1], 'the stream already open hears of the change');
  assert.equal(identity.computations, 2, 'the late stream computed it; handling the change did not compute it again');
  open.close();
  late.close();
});
