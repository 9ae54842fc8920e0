import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DelegatePolicy } from '../../../../src/agent/endpoints/delegated/authorization.js';
import { DelegateScope } from '../../../../src/agent/endpoints/delegated/scope.js';
import { agentEntry } from './entries-fixture.js';

const policy = new DelegatePolicy(['spiffe://a.org/cilium-agent', 'spiffe://a.org/proxy'], { 'spiffe://a.org/proxy': { selector_types: ['k8s'] } });

test('DI-02: a caller with no entry gets "no identity issued"', () => {
  assert.deepEqual(policy.authorize([]), { allowed: false, details: 'no identity issued' });
});

test('DI-02: a caller whose entries are not in authorized_delegates gets "caller not configured as an authorized delegate"', () => {
  assert.deepEqual(policy.authorize([agentEntry('spiffe://a.org/web', ['unix:uid:1000'])]), { allowed: false, details: 'caller not configured as an authorized delegate' });
  // Compared exactly, as SPIRE does: a longer or shorter ID is another ID.
  assert.equal(policy.authorize([agentEntry('spiffe://a.org/cilium-agent/x', ['unix:uid:0'])]).allowed, false);
});

test('DI-02: any one matching entry in authorized_delegates authorizes the caller; an unscoped delegate is unlimited', () => {
  const auth = policy.authorize([agentEntry('spiffe://a.org/web', ['unix:uid:0']), agentEntry('spiffe://a.org/cilium-agent', ['unix:uid:0'])]);
  assert.ok(auth.allowed);
  assert.deepEqual(auth.delegateIds, ['spiffe://a.org/cilium-agent']);
  assert.deepEqual(auth.scopes, [DelegateScope.unrestricted]);
});

test('a scoped delegate carries its scope; a caller holding two delegate IDs holds both scopes', () => {
  const scoped = policy.authorize([agentEntry('spiffe://a.org/proxy', ['unix:uid:0'])]);
  assert.ok(scoped.allowed);
  assert.equal(scoped.scopes.length, 1);
  assert.equal(scoped.scopes[0]?.allowsSelector({ type: 'unix', value: 'uid:1' }), false);
  assert.equal(scoped.scopes[0]?.allowsSelector({ type: 'k8s', value: 'pod-uid:1' }), true);
  const both = policy.authorize([agentEntry('spiffe://a.org/proxy', ['unix:uid:0']), agentEntry('spiffe://a.org/cilium-agent', ['unix:uid:0'])]);
  assert.ok(both.allowed);
  assert.equal(both.scopes.length, 2);
});
