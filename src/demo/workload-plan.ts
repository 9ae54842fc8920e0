/**
 * How the agent tells the demo's two processes apart. The agent knows a caller only from the
 * kernel, and `unix:path` is the node binary for both, so: as root, two uids (web as the demo's
 * own uid, client as nobody, started through setpriv). Otherwise one uid holds both entries and
 * each process takes the SVID whose hint it wants; that shows the mechanics, not isolation,
 * since either process could then take the other's SVID.
 */
import { spawnSync } from 'node:child_process';
import type { WorkloadName } from './workload-process.js';

export type Separation = 'uid' | 'hint';

export interface WorkloadPlan {
  name: WorkloadName;
  spiffeId: string;
  hint: string;
  uid: number;
  /** The entry's selector, `unix:uid:<uid>`. */
  selector: string;
  /** Command prefix that starts the process as `uid` (empty: as the runner). */
  runAs: string[];
}

export interface DemoPlan {
  separation: Separation;
  web: WorkloadPlan;
  client: WorkloadPlan;
  /** One line for the log. */
  explanation: string;
}

export const nobodyUid = 65534;

export interface Host {
  uid: number;
  canSetpriv: boolean;
}

export function currentHost(): Host {
  return { uid: process.getuid?.() ?? -1, canSetpriv: spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0 };
}

export function planWorkloads(trustDomain: string, requested: Separation | 'auto', host: Host = currentHost()): DemoPlan {
  const uidPossible = host.uid === 0 && host.canSetpriv;
  if (requested === 'uid' && !uidPossible) throw new Error('telling the workloads apart by uid needs root and setpriv (util-linux); use --split hint');
  const separation: Separation = requested === 'auto' ? (uidPossible ? 'uid' : 'hint') : requested;
  const workload = (name: WorkloadName, uid: number, runAs: string[]): WorkloadPlan => ({
    name,
    spiffeId: `spiffe://${trustDomain}/demo/${name}`,
    hint: name,
    uid,
    selector: `unix:uid:${uid}`,
    runAs,
  });
  if (separation === 'uid') {
    return {
      separation,
      web: workload('web', host.uid, []),
      client: workload('client', nobodyUid, ['setpriv', `--reuid=${nobodyUid}`, `--regid=${nobodyUid}`, '--clear-groups']),
      explanation: `workloads told apart by uid: web runs as uid ${host.uid}, client as uid ${nobodyUid} (nobody, through setpriv)`,
    };
  }
  return {
    separation,
    web: workload('web', host.uid, []),
    client: workload('client', host.uid, []),
    explanation: `workloads told apart by hint: both run as uid ${host.uid}, so both get both SVIDs, and each takes the one whose hint it wants (run as root to separate them by uid)`,
  };
}
