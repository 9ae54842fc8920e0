import { ConcurrencyLimit } from '../../common/concurrency-limit.js';
import { cgroupSelectors } from './cgroup-selectors.js';
import type { Selector } from './selector.js';
import { unixSelectors, type UnixCaller, type UnixSelectorOptions } from './unix-selectors.js';

export type { Selector } from './selector.js';
export type WorkloadAttestationOptions = UnixSelectorOptions;

/** Attestations at once in this process (each holds a few files open); the rest wait their turn. */
export const attestationsAtOnce = new ConcurrencyLimit(128);

/**
 * Every selector that describes a caller: unix (uid, gid, names, executable) and container
 * (pod uid, container id). The caller's pid, uid and gid must come from the kernel
 * (readPeerCredentials), and CallerProcess.stillSameProcess() must be checked afterwards.
 */
export async function attestWorkload(caller: UnixCaller, options: WorkloadAttestationOptions = {}): Promise<Selector[]> {
  return attestationsAtOnce.run(async () => {
    const [unix, container] = await Promise.all([unixSelectors(caller, options), cgroupSelectors(caller.pid, options.procRoot)]);
    return [...unix, ...container];
  });
}
