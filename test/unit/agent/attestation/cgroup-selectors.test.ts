import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { cgroupSelectors, identityFromCgroupPath, identityFromProcCgroup } from '../../../../src/agent/attestation/cgroup-selectors.js';
import { tempRoot, writeFakeProcess } from './proc-fixture.js';

const root = tempRoot('sigil-cgroup-');
after(root.remove);

const cid = '6d1b3a5f2c9e4d7a8b0c1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b';
const cid2 = 'ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100';
const podUid = '2c48913c-b29f-11e7-9350-020968147796';
const podUidSystemd = podUid.replaceAll('-', '_');

// One /proc/<pid>/cgroup per runtime layout, each with the selectors it must give.
const layouts: { name: string; cgroup: string; selectors: string[] }[] = [
  {
    name: 'plain host process, cgroup v2',
    cgroup: '0::/user.slice/user-1000.slice/session-3.scope\n',
    selectors: [],
  },
  {
    name: 'plain host process, cgroup v1 hybrid',
    cgroup: '12:memory:/system.slice/sshd.service\n11:cpu,cpuacct:/system.slice/sshd.service\n1:name=systemd:/system.slice/sshd.service\n0::/system.slice/sshd.service\n',
    selectors: [],
  },
  {
    name: 'docker, cgroupfs driver, cgroup v1',
    cgroup: `12:pids:/docker/${cid}\n11:memory:/docker/${cid}\n4:cpu,cpuacct:/docker/${cid}\n1:name=systemd:/docker/${cid}\n`,
    selectors: [`container:id:${cid}`],
  },
  {
    name: 'docker, systemd driver, cgroup v2',
    cgroup: `0::/system.slice/docker-${cid}.scope\n`,
    selectors: [`container:id:${cid}`],
  },
  {
    name: 'containerd outside kubernetes, cgroup v2',
    cgroup: `0::/system.slice/cri-containerd-${cid}.scope\n`,
    selectors: [`container:id:${cid}`],
  },
  {
    name: 'kubepods burstable, cgroupfs driver, cgroup v1',
    cgroup: `11:memory:/kubepods/burstable/pod${podUid}/${cid}\n3:cpuset:/kubepods/burstable/pod${podUid}/${cid}\n1:name=systemd:/kubepods/burstable/pod${podUid}/${cid}\n`,
    selectors: [`k8s:pod-uid:${podUid}`, `container:id:${cid}`],
  },
  {
    name: 'kubepods guaranteed, cgroupfs driver (no QoS level)',
    cgroup: `0::/kubepods/pod${podUid}/${cid}\n`,
    selectors: [`k8s:pod-uid:${podUid}`, `container:id:${cid}`],
  },
  {
    name: 'kubepods besteffort, systemd driver, containerd, cgroup v2',
    cgroup: `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${podUidSystemd}.slice/cri-containerd-${cid}.scope\n`,
    selectors: [`k8s:pod-uid:${podUid}`, `container:id:${cid}`],
  },
  {
    name: 'kubepods burstable, systemd driver, cri-o, cgroup v1',
    cgroup: `10:memory:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUidSystemd}.slice/crio-${cid}.scope\n1:name=systemd:/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUidSystemd}.slice/crio-${cid}.scope\n`,
    selectors: [`k8s:pod-uid:${podUid}`, `container:id:${cid}`],
  },
  {
    name: 'kubepods guaranteed, systemd driver, cri-o, cgroup v2',
    cgroup: `0::/kubepods.slice/kubepods-pod${podUidSystemd}.slice/crio-${cid}.scope\n`,
    selectors: [`k8s:pod-uid:${podUid}`, `container:id:${cid}`],
  },
  {
    name: 'cri-o conmon is not the container',
    cgroup: `0::/kubepods.slice/kubepods-pod${podUidSystemd}.slice/crio-conmon-${cid}.scope\n`,
    selectors: [`k8s:pod-uid:${podUid}`],
  },
  {
    name: 'containerd slice:prefix:id form (kind, systemd driver)',
    cgroup: `0::/system.slice/containerd.service/kubepods-burstable-pod${podUidSystemd}.slice:cri-containerd:${cid}\n`,
    selectors: [`k8s:pod-uid:${podUid}`, `container:id:${cid}`],
  },
  {
    name: 'reader in another cgroup namespace sees a relative path',
    cgroup: `0::/../../kubepods-besteffort.slice/kubepods-besteffort-pod${podUidSystemd}.slice/cri-containerd-${cid}.scope\n`,
    selectors: [`k8s:pod-uid:${podUid}`, `container:id:${cid}`],
  },
  {
    name: 'static pod: 32-hex uid without dashes',
    cgroup: `0::/kubepods/burstable/pod0123456789abcdef0123456789abcdef/${cid}\n`,
    selectors: ['k8s:pod-uid:0123456789abcdef0123456789abcdef', `container:id:${cid}`],
  },
  {
    name: 'pod sandbox cgroup without a container',
    cgroup: `0::/kubepods/besteffort/pod${podUid}\n`,
    selectors: [`k8s:pod-uid:${podUid}`],
  },
];

for (const layout of layouts) {
  test(`cgroup layout: ${layout.name}`, async () => {
    const pid = 3000 + layouts.indexOf(layout);
    writeFakeProcess(root.dir, { pid, cgroup: layout.cgroup });
    const selectors = await cgroupSelectors(pid, root.dir);
    assert.deepEqual(selectors.map((s) => `${s.type}:${s.value}`), layout.selectors);
  });
}

test('a cgroup a container made below its own cannot name another pod or container', () => {
  const nested = `/kubepods/burstable/pod${podUid}/${cid}/kubepods/pod11111111-2222-3333-4444-555555555555/${cid2}`;
  assert.deepEqual(identityFromCgroupPath(nested), { podUid, containerId: cid });
  assert.deepEqual(identityFromCgroupPath(`/docker/${cid}/docker/${cid2}`), { containerId: cid });
});

test('a cgroup under a systemd user manager gives no container identity (the user names those)', () => {
  assert.deepEqual(identityFromCgroupPath(`/user.slice/user-1000.slice/user@1000.service/user.slice/docker-${cid}.scope`), {});
  assert.deepEqual(identityFromCgroupPath(`/user.slice/user-1000.slice/user@1000.service/kubepods-pod${podUidSystemd}.slice`), {});
});

test('cgroup v1 hierarchies that disagree give no identity for that field', () => {
  const text = `11:memory:/kubepods/burstable/pod${podUid}/${cid}\n4:cpu:/kubepods/burstable/pod${podUid}/${cid2}\n`;
  assert.deepEqual(identityFromProcCgroup(text), { podUid });
});

test('ids that are not 64 hex (or upper case) are not container ids', () => {
  assert.deepEqual(identityFromCgroupPath(`/docker/${cid.slice(1)}`), {});
  assert.deepEqual(identityFromCgroupPath(`/docker/${cid.toUpperCase()}`), {});
  assert.deepEqual(identityFromCgroupPath(`/system.slice/docker-${cid}.service`), {});
});

test('a missing /proc/<pid>/cgroup is an error, not "no container"', async () => {
  await assert.rejects(cgroupSelectors(424242, root.dir), /ENOENT/);
});
