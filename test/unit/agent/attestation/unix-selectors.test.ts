import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ExecutableHashCache } from '../../../../src/agent/attestation/executable-hash.js';
import { parseStatusGroups, unixSelectors } from '../../../../src/agent/attestation/unix-selectors.js';
import { capturingLogger } from '../../../helpers/log-capture.js';
import { tempRoot, writeFakeProcess } from './proc-fixture.js';

const root = tempRoot('sigil-unix-selectors-');
after(root.remove);
const procRoot = join(root.dir, 'proc');
const etcRoot = join(root.dir, 'etc');
mkdirSync(etcRoot);
writeFileSync(join(etcRoot, 'passwd'), '# users\nroot:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/sh\n');
writeFileSync(join(etcRoot, 'group'), 'root:x:0:\nalice:x:1000:\nwheel:x:10:alice\n# 20 has no name\n');
const exe = join(root.dir, 'app');
writeFileSync(exe, '#!/bin/sh\necho app\n');
const exeSha256 = createHash('sha256').update('#!/bin/sh\necho app\n').digest('hex');

const render = (selectors: { type: string; value: string }[]) => selectors.map((s) => `${s.type}:${s.value}`);

test('Groups: line of /proc status, empty or not', () => {
  assert.deepEqual(parseStatusGroups('Name:\tx\nGroups:\t10 20 1000 \nNStgid:\t1\n'), [10, 20, 1000]);
  assert.deepEqual(parseStatusGroups('Groups:\t\n'), []);
  assert.deepEqual(parseStatusGroups('Groups:\nNStgid:\t1\n'), [], 'an empty Groups: line does not swallow the next line');
  assert.throws(() => parseStatusGroups('Name:\tx\n'), /no Groups:/);
});

test('uid, user, primary and supplementary gids, group names, path and sha256', async () => {
  writeFakeProcess(procRoot, { pid: 10, groups: [10, 20, 1000], exeTarget: exe });
  const selectors = await unixSelectors({ pid: 10, uid: 1000, gid: 1000 }, { procRoot, etcRoot, hashCache: new ExecutableHashCache() });
  assert.deepEqual(render(selectors), [
    'unix:uid:1000',
    'unix:user:alice',
    'unix:gid:1000',
    'unix:gid:10',
    'unix:gid:20',
    'unix:group:alice',
    'unix:group:wheel',
    `unix:path:${exe}`,
    `unix:sha256:${exeSha256}`,
  ]);
});

test('uid and primary gid come from the peer credentials, not from /proc status', async () => {
  // The fixture's status says Uid/Gid 1000; the kernel said 0 at connect().
  writeFakeProcess(procRoot, { pid: 11, exeTarget: exe });
  const selectors = render(await unixSelectors({ pid: 11, uid: 0, gid: 0 }, { procRoot, etcRoot, hashExecutable: false }));
  assert.deepEqual(selectors, ['unix:uid:0', 'unix:user:root', 'unix:gid:0', 'unix:group:root', `unix:path:${exe}`]);
});

test('a deleted executable gives its path without " (deleted)" and no sha256', async () => {
  writeFakeProcess(procRoot, { pid: 12, exeTarget: '/usr/local/bin/old tool (deleted)' });
  const { logger, records } = capturingLogger();
  const selectors = render(await unixSelectors({ pid: 12, uid: 4321, gid: 4321 }, { procRoot, etcRoot, logger }));
  assert.deepEqual(selectors, ['unix:uid:4321', 'unix:gid:4321', 'unix:path:/usr/local/bin/old tool']);
  assert.ok(records.some((r) => /deleted/.test(String(r.msg))), 'the reason is logged');
});

test('an executable that cannot be read gives a path, no sha256, and a logged reason', async () => {
  writeFakeProcess(procRoot, { pid: 13, exeTarget: join(root.dir, 'vanished') });
  const { logger, records } = capturingLogger();
  const selectors = render(await unixSelectors({ pid: 13, uid: 1000, gid: 1000 }, { procRoot, etcRoot, logger }));
  assert.equal(selectors.at(-1), `unix:path:${join(root.dir, 'vanished')}`);
  assert.ok(!selectors.some((s) => s.startsWith('unix:sha256:')));
  const warning = records.find((r) => /no unix:sha256/.test(String(r.msg)));
  assert.match(String(warning?.err), /ENOENT/);
});

test('no exe link (kernel thread, or not allowed to read it): no path, no sha256, logged', async () => {
  writeFakeProcess(procRoot, { pid: 14 });
  const { logger, records } = capturingLogger();
  const selectors = render(await unixSelectors({ pid: 14, uid: 1000, gid: 1000 }, { procRoot, etcRoot, logger }));
  assert.deepEqual(selectors, ['unix:uid:1000', 'unix:user:alice', 'unix:gid:1000', 'unix:group:alice']);
  assert.ok(records.some((r) => /executable path unreadable/.test(String(r.msg))));
});

test('without /etc/passwd and /etc/group: ids only, and the reason is logged', async () => {
  writeFakeProcess(procRoot, { pid: 15, groups: [10], exeTarget: exe });
  const { logger, records } = capturingLogger();
  const selectors = render(await unixSelectors({ pid: 15, uid: 1000, gid: 1000 }, { procRoot, etcRoot: join(root.dir, 'no-etc'), hashExecutable: false, logger }));
  assert.deepEqual(selectors, ['unix:uid:1000', 'unix:gid:1000', 'unix:gid:10', `unix:path:${exe}`]);
  assert.equal(records.filter((r) => /account names unreadable/.test(String(r.msg))).length, 2);
});

test('a caller whose /proc entry is gone is an error (fail closed), not a caller with fewer selectors', async () => {
  await assert.rejects(unixSelectors({ pid: 77777, uid: 0, gid: 0 }, { procRoot, etcRoot }), /ENOENT/);
});
