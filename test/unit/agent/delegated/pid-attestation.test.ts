import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ExecutableHashCache } from '../../../../src/agent/attestation/executable-hash.js';
import { attestWorkload } from '../../../../src/agent/attestation/workload-attestor.js';
import { attestPid, parseEffectiveIds } from '../../../../src/agent/endpoints/delegated/pid-attestation.js';
import { statLine, tempRoot, writeFakeProcess } from '../attestation/proc-fixture.js';

const root = tempRoot('sigil-pid-attestation-');
after(root.remove);
const hashCache = new ExecutableHashCache();
const keys = (selectors: { type: string; value: string }[]) => selectors.map((s) => `${s.type}:${s.value}`);

test('the effective uid and gid are read from /proc/<pid>/status (second column), as SO_PEERCRED reports them', () => {
  assert.deepEqual(parseEffectiveIds('Name:\tx\nUid:\t0\t1234\t0\t0\nGid:\t10\t2345\t10\t10\n'), { uid: 1234, gid: 2345 });
  assert.throws(() => parseEffectiveIds('Name:\tx\nGid:\t1\t1\t1\t1\n'), /no Uid: line/);
});

test('DI-04: a pid is attested like a socket caller: unix and container selectors of that process', async () => {
  const dir = writeFakeProcess(root.dir, { pid: 300, startTime: 77n, cgroup: `0::/kubepods/besteffort/pod0f3c5c3e-1a2b-4c5d-8e9f-0123456789ab/${'a'.repeat(64)}\n` });
  writeFileSync(join(dir, 'status'), 'Name:\tworkload\nUid:\t0\t1234\t0\t0\nGid:\t0\t2345\t0\t0\nGroups:\t\n');
  const selectors = keys(await attestPid(300, { hashCache, procRoot: root.dir }));
  assert.ok(selectors.includes('unix:uid:1234'), selectors.join(' '));
  assert.ok(selectors.includes('unix:gid:2345'));
  assert.ok(selectors.includes('k8s:pod-uid:0f3c5c3e-1a2b-4c5d-8e9f-0123456789ab'));
  assert.ok(selectors.includes(`container:id:${'a'.repeat(64)}`));
});

test('lessons row 16: a pid reused during attestation fails closed', async () => {
  const dir = writeFakeProcess(root.dir, { pid: 301, startTime: 1000n });
  await assert.rejects(
    attestPid(301, {
      hashCache,
      procRoot: root.dir,
      // Another process takes the pid while its /proc files are read.
      attest: async (caller, options) => {
        writeFileSync(join(dir, 'stat'), statLine(301, 'successor', 1001n));
        return attestWorkload(caller, options);
      },
    }),
    /process 301 exited or its pid was reused during attestation/,
  );
});

test('a pid with no process, pid 0 and a negative pid are refused', async () => {
  await assert.rejects(attestPid(99999, { hashCache, procRoot: root.dir }), /caller pid 99999 is gone/);
  await assert.rejects(attestPid(0, { hashCache, procRoot: root.dir }), /does not name a process/);
  await assert.rejects(attestPid(-1, { hashCache, procRoot: root.dir }), /does not name a process/);
});

test('a real process (this one) is attested from the real /proc', async () => {
  const selectors = keys(await attestPid(process.pid, { hashCache }));
  assert.ok(selectors.includes(`unix:uid:${process.geteuid?.()}`), selectors.join(' '));
  assert.ok(selectors.includes(`unix:path:${process.execPath}`));
});
