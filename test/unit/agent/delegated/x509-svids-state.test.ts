import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CachedSvid } from '../../../../src/agent/cache/svid-cache.js';
import type { SubscribeToX509SvidsResponse } from '../../../../src/agent/endpoints/delegated/messages.js';
import { delegatedSvids, X509SvidsSubscription } from '../../../../src/agent/endpoints/delegated/x509-svids-state.js';
import type { StreamState } from '../../../../src/agent/endpoints/state-stream.js';
import type { AgentEntry } from '../../../../src/agent/sync/entry-cache.js';
import { agentEntry } from './entries-fixture.js';

const now = Date.parse('2030-01-01T00:00:00Z');

function svidFor(entry: { id: string; spiffeId: string; hint: string }, serial: string): CachedSvid {
  return {
    entryId: entry.id,
    spiffeId: entry.spiffeId,
    hint: entry.hint,
    revision: 0,
    serial,
    chainDer: [new Uint8Array([0x30, 0x00]), new Uint8Array([0x30, 0x01, 0x00])],
    privateKeyPkcs8: new Uint8Array([0x30, 0x02, 0x01, 0x00]),
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + 3_600_500),
    rotateAt: now + 1_000_000,
    receivedAt: now,
  };
}

/** One stream of a delegate whose obtained entries' SVIDs are in `cache`. */
function subscriptionTo(cache: Map<string, CachedSvid>) {
  const subscription = new X509SvidsSubscription();
  return { next: (entries: AgentEntry[]) => subscription.next(delegatedSvids(entries, { get: (id) => cache.get(id) }, now)) };
}

const sent = (state: StreamState<SubscribeToX509SvidsResponse>) => {
  assert.equal(state.kind, 'send');
  return state.kind === 'send' ? state.message.x509_svids.map((s) => `spiffe://${s.x509_svid.id.trust_domain}${s.x509_svid.id.path}`) : [];
};

test('consumers §1.7: the first message waits until every obtained entry has a usable SVID', () => {
  const a = agentEntry('spiffe://a.org/identity/1', ['cilium:mutual-auth']);
  const b = agentEntry('spiffe://a.org/identity/2', ['cilium:mutual-auth']);
  const cache = new Map<string, CachedSvid>([[a.id, svidFor(a, '01')]]);
  const subscription = subscriptionTo(cache);
  assert.deepEqual(subscription.next([a, b]), { kind: 'wait' }, 'one of two SVIDs is not there: a partial first message would read as a deletion');
  cache.set(b.id, svidFor(b, '02'));
  assert.deepEqual(sent(subscription.next([a, b])), ['spiffe://a.org/identity/1', 'spiffe://a.org/identity/2']);
});

test('DI-05: after the first message, a new entry appears once signed and a dropped SVID leaves at once', () => {
  const a = agentEntry('spiffe://a.org/identity/1', ['cilium:mutual-auth']);
  const c = agentEntry('spiffe://a.org/identity/3', ['cilium:mutual-auth']);
  const cache = new Map<string, CachedSvid>([[a.id, svidFor(a, '01')]]);
  const subscription = subscriptionTo(cache);
  assert.deepEqual(sent(subscription.next([a])), ['spiffe://a.org/identity/1']);
  assert.deepEqual(sent(subscription.next([a, c])), ['spiffe://a.org/identity/1'], 'the entry being signed is not there yet; nothing is withheld');
  cache.set(c.id, svidFor(c, '03'));
  assert.deepEqual(sent(subscription.next([a, c])), ['spiffe://a.org/identity/1', 'spiffe://a.org/identity/3']);
  cache.delete(a.id);
  assert.deepEqual(sent(subscription.next([a, c])), ['spiffe://a.org/identity/3'], 'a revoked SVID is not served while its successor is signed');
});

test('DI-05: an empty set is a valid message (the delegate has nothing, or nothing any more), and the fingerprint follows the serials', () => {
  const a = agentEntry('spiffe://a.org/identity/1', ['cilium:mutual-auth']);
  const cache = new Map<string, CachedSvid>([[a.id, svidFor(a, '01')]]);
  const subscription = subscriptionTo(cache);
  const empty = subscription.next([]);
  assert.deepEqual(sent(empty), []);
  const first = subscription.next([a]);
  cache.set(a.id, svidFor(a, '02'));
  const rotated = subscription.next([a]);
  assert.ok(first.kind === 'send' && rotated.kind === 'send' && empty.kind === 'send');
  assert.notEqual(first.fingerprint, rotated.fingerprint, 'a rotated SVID is sent again');
  assert.notEqual(first.fingerprint, empty.fingerprint);
});
