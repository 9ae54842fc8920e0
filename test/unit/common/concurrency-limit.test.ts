import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConcurrencyLimit } from '../../../src/common/concurrency-limit.js';

test('at most `limit` tasks run at once, the rest start in arrival order, and a failing task frees its slot', async () => {
  const limit = new ConcurrencyLimit(3);
  let running = 0;
  let most = 0;
  const started: number[] = [];
  const releases: (() => void)[] = [];
  const tasks = Array.from({ length: 10 }, (_, i) =>
    limit.run(async () => {
      started.push(i);
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => releases.push(r));
      running--;
      if (i === 4) throw new Error('task 4 fails');
      return i;
    }),
  );
  const settled = Promise.allSettled(tasks);
  for (let done = 0; done < 10; done++) {
    await new Promise((r) => setImmediate(r));
    assert.ok(limit.load.running <= 3);
    releases.shift()?.();
  }
  const results = await settled;
  assert.equal(most, 3);
  assert.deepEqual(started, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [0, 1, 2, 3, 'task 4 fails', 5, 6, 7, 8, 9],
  );
  assert.deepEqual(limit.load, { running: 0, waiting: 0 });
});

test('a limit must be a positive integer', () => {
  assert.throws(() => new ConcurrencyLimit(0), /positive integer, got 0/);
});
