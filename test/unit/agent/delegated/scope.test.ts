import assert from 'node:assert/strict';
import { test } from 'node:test';
import { delegatedEntries } from '../../../../src/agent/endpoints/delegated/delegated-entries.js';
import { DelegateScope } from '../../../../src/agent/endpoints/delegated/scope.js';
import { agentEntry, entryCache } from './entries-fixture.js';

const sel = (s: string) => {
  const at = s.indexOf(':');
  return { type: s.slice(0, at), value: s.slice(at + 1) };
};

test('a scope limits selectors by type or by exact type:value; without a selector limit any selector is allowed', () => {
  const scope = new DelegateScope({ selector_types: ['k8s'], selectors: ['cilium:mutual-auth'] });
  assert.equal(scope.allowsSelector(sel('k8s:pod-uid:1')), true);
  assert.equal(scope.allowsSelector(sel('cilium:mutual-auth')), true);
  assert.equal(scope.allowsSelector(sel('cilium:mtls')), false);
  assert.equal(scope.allowsSelector(sel('unix:uid:0')), false);
  assert.equal(new DelegateScope({ spiffe_id_prefixes: ['spiffe://a.org/x'] }).allowsSelector(sel('unix:uid:0')), true);
});

test('SPIFFE ID prefixes cover whole path segments only', () => {
  const scope = new DelegateScope({ spiffe_id_prefixes: ['spiffe://a.org/identity', 'spiffe://b.org'] });
  assert.equal(scope.allowsSpiffeId('spiffe://a.org/identity'), true);
  assert.equal(scope.allowsSpiffeId('spiffe://a.org/identity/42'), true);
  assert.equal(scope.allowsSpiffeId('spiffe://a.org/identity42'), false);
  assert.equal(scope.allowsSpiffeId('spiffe://a.org/other/identity/42'), false);
  assert.equal(scope.allowsSpiffeId('spiffe://b.org/anything'), true);
  assert.equal(scope.allowsSpiffeId('spiffe://b.org.evil/anything'), false);
});

const identity42 = agentEntry('spiffe://a.org/identity/42', ['cilium:mutual-auth']);
const identity43 = agentEntry('spiffe://a.org/identity/43', ['cilium:mutual-auth']);
const elsewhere = agentEntry('spiffe://a.org/db', ['cilium:mutual-auth']);
const adminEntry = agentEntry('spiffe://a.org/identity/admin', ['cilium:mutual-auth'], { admin: true });
const uidEntry = agentEntry('spiffe://a.org/identity/uid', ['unix:uid:1000']);
const podEntry = agentEntry('spiffe://a.org/identity/pod', ['k8s:pod-uid:p1']);
const cache = entryCache(identity42, identity43, elsewhere, adminEntry, uidEntry, podEntry);
const ids = (r: ReturnType<typeof delegatedEntries>) => (r.allowed ? r.entries.map((e) => e.spiffeId) : r.details);

test('DI-05/DI-07: an unlimited delegate gets every matching entry except admin ones, oldest first', () => {
  const r = delegatedEntries({ selectors: [sel('cilium:mutual-auth')], attestedByAgent: false }, [DelegateScope.unrestricted], cache);
  assert.deepEqual(ids(r), ['spiffe://a.org/identity/42', 'spiffe://a.org/identity/43', 'spiffe://a.org/db']);
});

test('scope: entries outside the SPIFFE ID prefixes are left out', () => {
  const scope = new DelegateScope({ selectors: ['cilium:mutual-auth'], spiffe_id_prefixes: ['spiffe://a.org/identity'] });
  const r = delegatedEntries({ selectors: [sel('cilium:mutual-auth')], attestedByAgent: false }, [scope], cache);
  assert.deepEqual(ids(r), ['spiffe://a.org/identity/42', 'spiffe://a.org/identity/43']);
});

test('scope: naming a selector outside the scope is refused, and the refusal names it', () => {
  const scope = new DelegateScope({ selectors: ['cilium:mutual-auth'] });
  const r = delegatedEntries({ selectors: [sel('unix:uid:1000')], attestedByAgent: false }, [scope], cache);
  assert.deepEqual(r, { allowed: false, details: "selectors outside the delegate's scope: unix:uid:1000" });
  const mixed = delegatedEntries({ selectors: [sel('cilium:mutual-auth'), sel('unix:uid:1000')], attestedByAgent: false }, [scope], cache);
  assert.equal(mixed.allowed, false, 'one selector outside the scope refuses the whole request');
});

test('scope: for a pid the agent attested, only the allowed selectors are matched, so the pid reaches no further than allowed selectors would', () => {
  const scope = new DelegateScope({ selector_types: ['k8s'] });
  const attested = [sel('unix:uid:1000'), sel('unix:gid:1000'), sel('k8s:pod-uid:p1')];
  assert.deepEqual(ids(delegatedEntries({ selectors: attested, attestedByAgent: true }, [scope], cache)), ['spiffe://a.org/identity/pod']);
  assert.deepEqual(ids(delegatedEntries({ selectors: attested, attestedByAgent: true }, [DelegateScope.unrestricted], cache)), ['spiffe://a.org/identity/uid', 'spiffe://a.org/identity/pod']);
});

test('scope: a delegate holding two scopes gets the union, each scope applied whole (not mixed dimension by dimension)', () => {
  const ciliumOnly = new DelegateScope({ selectors: ['cilium:mutual-auth'], spiffe_id_prefixes: ['spiffe://a.org/identity/42'] });
  const k8sOnly = new DelegateScope({ selector_types: ['k8s'], spiffe_id_prefixes: ['spiffe://a.org/identity/pod'] });
  assert.deepEqual(ids(delegatedEntries({ selectors: [sel('cilium:mutual-auth')], attestedByAgent: false }, [ciliumOnly, k8sOnly], cache)), ['spiffe://a.org/identity/42']);
  assert.deepEqual(ids(delegatedEntries({ selectors: [sel('k8s:pod-uid:p1')], attestedByAgent: false }, [ciliumOnly, k8sOnly], cache)), ['spiffe://a.org/identity/pod']);
});
