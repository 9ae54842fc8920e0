import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { test } from 'node:test';
import { RpcError } from '../../../../src/agent/endpoints/delegated/rpc-error.js';
import { parseTarget } from '../../../../src/agent/endpoints/delegated/target.js';

const invalidArgument = (details: string, reason?: string) => (err: unknown) => {
  assert.ok(err instanceof RpcError);
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
  assert.equal(err.message, details);
  if (reason !== undefined) assert.equal(err.reason, reason);
  return true;
};

test('DI-04: selectors alone or a pid alone name the target', () => {
  assert.deepEqual(parseTarget({ selectors: [{ type: 'cilium', value: 'mutual-auth' }], pid: 0 }), { kind: 'selectors', selectors: [{ type: 'cilium', value: 'mutual-auth' }] });
  assert.deepEqual(parseTarget({ selectors: [], pid: 4242 }), { kind: 'pid', pid: 4242 });
});

test('DI-04: both, or neither (pid 0 counts as unset), is InvalidArgument with SPIRE\'s text', () => {
  const text = 'must provide either selectors or non-zero PID, but not both';
  assert.throws(() => parseTarget({ selectors: [{ type: 'unix', value: 'uid:0' }], pid: 12 }), invalidArgument(text));
  assert.throws(() => parseTarget({ selectors: [], pid: 0 }), invalidArgument(text));
});

test('DI-04: a selector without a type, with a ":" in its type, or without a value cannot be parsed', () => {
  const text = 'could not parse provided selectors';
  assert.throws(() => parseTarget({ selectors: [{ type: '', value: 'x' }], pid: 0 }), invalidArgument(text, 'missing selector type'));
  assert.throws(() => parseTarget({ selectors: [{ type: 'k8s:ns', value: 'x' }], pid: 0 }), invalidArgument(text, "selector type contains ':'"));
  assert.throws(() => parseTarget({ selectors: [{ type: 'unix', value: 'uid:0' }, { type: 'k8s', value: '' }], pid: 0 }), invalidArgument(text, 'missing selector value'));
});
