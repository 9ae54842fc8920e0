import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { test } from 'node:test';
import { retryAfterMsOf, retryAfterTrailer } from '../../../src/common/grpc/retry-after.js';

const refusal = (value?: string) => {
  const metadata = new grpc.Metadata();
  if (value !== undefined) metadata.set(retryAfterTrailer, value);
  return Object.assign(new Error('overloaded'), { code: grpc.status.RESOURCE_EXHAUSTED, details: 'overloaded', metadata });
};

test('the server\'s retry hint is read from its trailer; a missing, malformed or absurd one is no hint', () => {
  assert.equal(retryAfterMsOf(refusal('2500')), 2500);
  assert.equal(retryAfterMsOf(refusal()), undefined);
  for (const bad of ['', '-5', '1.5', 'soon', '99999999', '3600001']) assert.equal(retryAfterMsOf(refusal(bad)), undefined, bad);
  assert.equal(retryAfterMsOf(new Error('no metadata')), undefined);
  assert.equal(retryAfterMsOf(undefined), undefined);
});
