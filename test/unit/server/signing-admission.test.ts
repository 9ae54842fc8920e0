import assert from 'node:assert/strict';
import { test } from 'node:test';
import { OverloadedError, SigningAdmission } from '../../../src/server/agent-api/signing-admission.js';

test('batches run while they fit, then wait in arrival order; one larger than the limit runs alone', async () => {
  const admission = new SigningAdmission(1000, 5000);
  const first = await admission.admit(600);
  const order: string[] = [];
  const second = admission.admit(600).then((release) => (order.push('second'), release));
  const third = admission.admit(100).then((release) => (order.push('third'), release));
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(order, [], 'the 100 would fit, but it waits behind the 600 that came first');
  assert.deepEqual(admission.load, { inFlight: 600, queued: 700 });
  first();
  const [releaseSecond, releaseThird] = await Promise.all([second, third]);
  assert.deepEqual(order, ['second', 'third']);
  assert.deepEqual(admission.load, { inFlight: 700, queued: 0 });
  releaseSecond();
  releaseThird();
  releaseThird();
  assert.deepEqual(admission.load, { inFlight: 0, queued: 0 }, 'a second release gives nothing back twice');
  const huge = await admission.admit(3000);
  assert.deepEqual(admission.load, { inFlight: 3000, queued: 0 }, 'larger than the limit, alone');
  huge();
});

test('a batch that would wait behind more than maxQueued is refused at once, naming the load', async () => {
  const admission = new SigningAdmission(500, 1000);
  const running = await admission.admit(500);
  const waiting = admission.admit(800);
  await assert.rejects(admission.admit(300), (err: Error) => err instanceof OverloadedError && /signing 500 CSRs with 800 more waiting; retry in 1\.0 s/.test(err.message) && (err as OverloadedError).retryAfterMs === 1000);
  running();
  (await waiting)();
  assert.deepEqual(admission.load, { inFlight: 0, queued: 0 });
});

test('a batch that would not be signed in the first half of its call\'s time left is refused at once; without a measured rate only maxQueued counts', async () => {
  let now = 1_000_000;
  const admission = new SigningAdmission(1000, 50_000, 2000, () => now);
  assert.equal(admission.rate, undefined);
  // Nothing measured yet: whatever the deadline, the queue limit for an unmeasured rate applies.
  const first = await admission.admit(1000, now + 1);
  const early = admission.admit(2000, now + 1);
  await assert.rejects(admission.admit(1, now + 60_000), (err: Error) => err instanceof OverloadedError && err.retryAfterMs === 1000);
  now += 1000;
  first(); // 1,000 CSRs signed in one second
  assert.equal(admission.rate, 1000);
  const running = await early;
  // 2,000 in flight at 1,000/s: 1,000 more would be done in 3 s, within half of 10 s.
  const fits = admission.admit(1000, now + 10_000);
  // 3,000 more would take 6 s: more than half of the 10 s the call has left.
  // Told to come back once half of what is ahead of it, itself included, is signed: 6 s of work, 3 s.
  await assert.rejects(admission.admit(3000, now + 10_000), (err: Error) => err instanceof OverloadedError && /signing 2000 CSRs with 1000 more waiting; retry in 3\.0 s/.test(err.message) && err.retryAfterMs === 3000);
  // The same batch from a call with no deadline waits.
  const noDeadline = admission.admit(3000);
  assert.deepEqual(admission.load, { inFlight: 2000, queued: 4000 });
  running();
  (await fits)();
  (await noDeadline)();
  assert.deepEqual(admission.load, { inFlight: 0, queued: 0 });
  // The rate forgets what is older than its window.
  now += 60_000;
  assert.equal(admission.rate, undefined);
});
