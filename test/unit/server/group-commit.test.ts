import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { GroupCommitter } from '../../../src/server/ca/group-commit.js';
import { openStore } from '../../../src/store/store.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-group-commit-');
const store = openStore(join(dir, 'sigil.db'));
after(() => {
  store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('jobs queued in one turn share one transaction; a job that throws is rolled back alone and only its promise rejects', async () => {
  const committer = new GroupCommitter(store);
  let outerTransactions = 0;
  const transaction = store.transaction.bind(store);
  let depth = 0;
  store.transaction = <T>(fn: () => T): T => {
    if (depth === 0) outerTransactions++;
    depth++;
    try {
      return transaction(fn);
    } finally {
      depth--;
    }
  };
  try {
    const results = await Promise.allSettled(
      Array.from({ length: 50 }, (_, i) =>
        committer.run(() => {
          store.settings.set(`k${i}`, String(i));
          if (i === 7) throw new Error('job 7 fails after writing');
        }),
      ),
    );
    assert.equal(outerTransactions, 1, 'one transaction for the whole group');
    assert.equal(results.filter((r) => r.status === 'rejected').length, 1);
    assert.match(String((results[7] as PromiseRejectedResult).reason), /job 7 fails/);
    assert.equal(store.settings.get('k7'), undefined, 'the failed job wrote nothing');
    assert.equal(store.settings.get('k6'), '6');
    assert.equal(store.settings.get('k49'), '49');
  } finally {
    store.transaction = transaction;
  }
});

test('a job settles only after its group is committed (visible to another connection)', async () => {
  const committer = new GroupCommitter(store);
  await committer.run(() => store.settings.set('durable', 'yes'));
  const other = openStore(join(dir, 'sigil.db'));
  try {
    assert.equal(other.settings.get('durable'), 'yes');
  } finally {
    other.close();
  }
});
