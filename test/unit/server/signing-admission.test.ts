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
  await assert.rejects(admission.admit(300), (err: Error) => err instanceof OverloadedError && /signing 500 CSRs with 800 more waiting; retry in a few seconds/.test(err.message));
  running();
  (await waiting)();
  assert.deepEqual(admission.load, { inFlight: 0, queued: 0 });
});
