import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { attestWorkload } from '../../../../src/agent/attestation/workload-attestor.js';
import { tempRoot, writeFakeProcess } from './proc-fixture.js';

const root = tempRoot('sigil-workload-attestor-');
after(root.remove);

const render = (selectors: { type: string; value: string }[]) => selectors.map((s) => `${s.type}:${s.value}`);

test('fixture: unix and container selectors together for a kubernetes workload', async () => {
  const procRoot = join(root.dir, 'proc');
  const etcRoot = join(root.dir, 'etc');
  mkdirSync(etcRoot);
  writeFileSync(join(etcRoot, 'passwd'), 'app:x:2000:2000::/:/bin/false\n');
  writeFileSync(join(etcRoot, 'group'), 'app:x:2000:\n');
  const cid = 'a'.repeat(64);
  writeFakeProcess(procRoot, {
    pid: 55,
    exeTarget: '/app/server',
    cgroup: `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod0d8ac7b6_53f4_4e1d_9d3e_0e0f4a5b6c7d.slice/cri-containerd-${cid}.scope\n`,
  });
  const selectors = await attestWorkload({ pid: 55, uid: 2000, gid: 2000 }, { procRoot, etcRoot, hashExecutable: false });
  assert.deepEqual(render(selectors), [
    'unix:uid:2000',
    'unix:user:app',
    'unix:gid:2000',
    'unix:group:app',
    'unix:path:/app/server',
    'k8s:pod-uid:0d8ac7b6-53f4-4e1d-9d3e-0e0f4a5b6c7d',
    `container:id:${cid}`,
  ]);
});

test('real process: this test runner attests as its own uid, gid, executable path and sha256', async () => {
  const selectors = render(await attestWorkload({ pid: process.pid, uid: process.getuid!(), gid: process.getgid!() }, {}));
  const expectedSha256 = createHash('sha256').update(readFileSync(process.execPath)).digest('hex');
  assert.ok(selectors.includes(`unix:uid:${process.getuid!()}`), selectors.join(' '));
  assert.ok(selectors.includes(`unix:gid:${process.getgid!()}`), selectors.join(' '));
  assert.ok(selectors.includes(`unix:path:${realpathSync(process.execPath)}`), selectors.join(' '));
  assert.ok(selectors.includes(`unix:sha256:${expectedSha256}`), selectors.join(' '));
  assert.equal(selectors.filter((s) => s.startsWith('unix:sha256:')).length, 1);
});
