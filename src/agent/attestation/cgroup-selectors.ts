import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Selector } from './selector.js';

export interface ContainerIdentity {
  podUid?: string;
  containerId?: string;
}

const hex64 = '[0-9a-f]{64}';
// Bare id (cgroupfs driver: /docker/<id>, /kubepods/burstable/pod<uid>/<id>) or a systemd scope
// (docker-<id>.scope, cri-containerd-<id>.scope, crio-<id>.scope, libpod-<id>.scope).
const containerComponent = new RegExp(`^(?:(?:docker|cri-containerd|crio|libpod)-)?(${hex64})(?:\\.scope)?$`);
// cgroupfs: pod<uid>; systemd: kubepods[-burstable|-besteffort]-pod<uid with _ for ->.slice.
// Static pods have a 32-hex uid without dashes.
const podComponent = /^(?:kubepods-(?:burstable-|besteffort-)?)?pod([0-9a-f]{8}[-_]?[0-9a-f]{4}[-_]?[0-9a-f]{4}[-_]?[0-9a-f]{4}[-_]?[0-9a-f]{12})(?:\.slice)?$/;
// Below a systemd user manager an unprivileged user creates and names cgroups at will.
const userDelegated = /^user@\d+\.service$/;

/** Path components, with containerd's `<slice>:<prefix>:<id>` form (systemd driver) split into slice and scope. */
function components(path: string): string[] {
  return path.split('/').flatMap((c) => {
    const parts = c.split(':');
    return parts.length === 3 ? [parts[0] as string, `${parts[1]}-${parts[2]}.scope`] : [c];
  });
}

/**
 * Pod uid and container id from one cgroup path. Components are read from the root down and the
 * first container component ends the walk: anything below it is inside the container, which may
 * be allowed to create cgroups of its own and must not be able to name another pod or container.
 */
export function identityFromCgroupPath(path: string): ContainerIdentity {
  const identity: ContainerIdentity = {};
  for (const component of components(path)) {
    if (userDelegated.test(component)) return {};
    const pod = podComponent.exec(component);
    if (pod && identity.podUid === undefined) identity.podUid = (pod[1] as string).replaceAll('_', '-');
    const container = containerComponent.exec(component);
    if (container) {
      identity.containerId = container[1] as string;
      break;
    }
  }
  return identity;
}

/**
 * From /proc/<pid>/cgroup text, cgroup v1 (`<id>:<controllers>:<path>` per hierarchy) or v2 (`0::<path>`).
 * Under v1 every hierarchy is read; hierarchies that disagree give nothing for that field.
 */
export function identityFromProcCgroup(text: string): ContainerIdentity {
  const podUids = new Set<string>();
  const containerIds = new Set<string>();
  for (const line of text.split('\n')) {
    const match = /^\d+:[^:]*:(.*)$/.exec(line);
    if (!match) continue;
    const { podUid, containerId } = identityFromCgroupPath(match[1] as string);
    if (podUid) podUids.add(podUid);
    if (containerId) containerIds.add(containerId);
  }
  const identity: ContainerIdentity = {};
  if (podUids.size === 1) identity.podUid = [...podUids][0] as string;
  if (containerIds.size === 1) identity.containerId = [...containerIds][0] as string;
  return identity;
}

export function containerSelectors(identity: ContainerIdentity): Selector[] {
  const selectors: Selector[] = [];
  if (identity.podUid) selectors.push({ type: 'k8s', value: `pod-uid:${identity.podUid}` });
  if (identity.containerId) selectors.push({ type: 'container', value: `id:${identity.containerId}` });
  return selectors;
}

/** `k8s:pod-uid` and `container:id` selectors for a process; none for a plain host process. */
export async function cgroupSelectors(pid: number, procRoot = '/proc'): Promise<Selector[]> {
  const text = await readFile(join(procRoot, String(pid), 'cgroup'), 'utf8');
  return containerSelectors(identityFromProcCgroup(text));
}
