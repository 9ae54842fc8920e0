import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { utimesSync, writeFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ExecutableHashCache } from '../../../../src/agent/attestation/executable-hash.js';
import { tempRoot } from './proc-fixture.js';

const root = tempRoot('sigil-exe-hash-');
after(root.remove);

const sha256 = (data: string | Buffer) => createHash('sha256').update(data).digest('hex');

test('hashes a file larger than one read chunk, streaming', async () => {
  const path = join(root.dir, 'big');
  const data = Buffer.alloc(3 * (1 << 20) + 17, 0xa5);
  writeFileSync(path, data);
  assert.equal(await new ExecutableHashCache().sha256(path), sha256(data));
});

test('a file rewritten in place (even with its old mtime put back) is hashed again', async () => {
  const path = join(root.dir, 'tool');
  writeFileSync(path, 'version one');
  const cache = new ExecutableHashCache();
  assert.equal(await cache.sha256(path), sha256('version one'));
  const { atime, mtime } = statSync(path);
  writeFileSync(path, 'version two');
  utimesSync(path, atime, mtime);
  assert.equal(await cache.sha256(path), sha256('version two'));
  assert.equal(cache.hits, 0);
});

test('an unchanged file is served from the cache; the cache stays within its bound', async () => {
  const cache = new ExecutableHashCache(2);
  const paths = ['a', 'b', 'c'].map((name) => {
    const path = join(root.dir, `bounded-${name}`);
    writeFileSync(path, name);
    return path;
  });
  for (const path of paths) await cache.sha256(path);
  assert.equal(cache.hits, 0);
  assert.equal(cache.size, 2);
  assert.equal(await cache.sha256(paths[2] as string), sha256('c'));
  assert.equal(cache.hits, 1, 'the newest file is still cached');
  assert.equal(await cache.sha256(paths[0] as string), sha256('a'));
  assert.equal(cache.hits, 1, 'the oldest file was evicted and read again');
  assert.equal(cache.size, 2);
});

test('an unreadable file rejects', async () => {
  await assert.rejects(new ExecutableHashCache().sha256(join(root.dir, 'missing')), /ENOENT/);
});

test('issue 15 item 6: callers that ask together while a file is hashed share one read of it', async () => {
  const path = join(root.dir, 'busy-binary');
  const data = Buffer.alloc(8 * (1 << 20), 0x5a);
  writeFileSync(path, data);
  const cache = new ExecutableHashCache();
  const digests = await Promise.all(Array.from({ length: 50 }, () => cache.sha256(path)));
  assert.deepEqual(new Set(digests), new Set([sha256(data)]));
  assert.equal(cache.hashed, 1, '50 callers, one read of the file');
  assert.equal(await cache.sha256(path), sha256(data));
  assert.equal(cache.hashed, 1, 'then served from the cache');
  assert.equal(cache.hits, 1);
});

test('a failed hash is shared by the callers that waited for it, and not cached: the next caller reads again', async () => {
  // A directory opens and stats like a file; reading it fails (EISDIR).
  const cache = new ExecutableHashCache();
  const results = await Promise.allSettled(Array.from({ length: 10 }, () => cache.sha256(root.dir)));
  assert.ok(results.every((r) => r.status === 'rejected' && /EISDIR/.test(String(r.reason))));
  assert.equal(cache.hashed, 1, 'one attempt for the ten callers');
  await assert.rejects(cache.sha256(root.dir), /EISDIR/);
  assert.equal(cache.hashed, 2, 'the failure was not kept: a later caller tries again');
  assert.equal(cache.size, 0);
});
