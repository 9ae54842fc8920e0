import type { Logger } from '../../../common/logger.js';
import type { ExecutableHashCache } from '../../attestation/executable-hash.js';
import { CallerProcess } from '../../attestation/process-identity.js';
import { selectorSet, selectorSetKey, type AgentEntry, type EntryCache } from '../../sync/entry-cache.js';
import { attestPid } from '../delegated/pid-attestation.js';
import * as grpc from '@grpc/grpc-js';
import { BrokerError, workloadNotFound } from './errors.js';
import { processExists } from './reference.js';

/** A referenced workload, attested by the agent, held for as long as the call needs it. */
export interface ReferencedWorkload {
  pid: number;
  /** Names its selector set: workloads with the same key have the same entries. */
  key: string;
  /** Its entries now (entries change while a stream is open); admin entries are never handed out. */
  entries(): AgentEntry[];
  /** False once the process exited or its pid names another process (§4.9). */
  alive(): boolean;
  release(): void;
}

/**
 * Attest the process a PID reference names (§4.2). The process is pinned by its start time
 * before attestation and must be the same one after it, so the selectors describe it and not a
 * process that took the pid meanwhile. A pid with no process is NotFound (§4.8).
 */
export async function attestReferencedPid(pid: number, deps: { entries: EntryCache; hashCache: ExecutableHashCache; log: Logger }): Promise<ReferencedWorkload> {
  if (!processExists(pid)) throw workloadNotFound(pid);
  let process: CallerProcess;
  try {
    process = new CallerProcess(pid);
  } catch {
    throw workloadNotFound(pid);
  }
  try {
    const selectors = selectorSet(await attestPid(pid, { hashCache: deps.hashCache, logger: deps.log }));
    if (!process.stillSameProcess()) throw workloadNotFound(pid);
    const matched = deps.entries.matcher(selectors);
    return {
      pid,
      key: selectorSetKey(selectors),
      entries: () => matched().filter((e) => !e.admin),
      alive: () => process.stillSameProcess(),
      release: () => process.close(),
    };
  } catch (err) {
    process.close();
    if (err instanceof BrokerError) throw err;
    if (!processExists(pid)) throw workloadNotFound(pid);
    deps.log.warn({ pid, err: (err as Error).message }, 'broker: workload attestation failed');
    throw new BrokerError(grpc.status.UNAVAILABLE, 'workload attestation failed');
  }
}
