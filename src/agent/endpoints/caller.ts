import type { Socket } from 'node:net';
import type { Logger } from '../../common/logger.js';
import { readPeerCredentials } from '../attestation/peer-credentials.js';
import { CallerProcess } from '../attestation/process-identity.js';
import type { Selector } from '../attestation/selector.js';
import { attestWorkload } from '../attestation/workload-attestor.js';
import type { ExecutableHashCache } from '../attestation/executable-hash.js';
import { selectorSet, selectorSetKey, type AgentEntry, type EntryCache } from '../sync/entry-cache.js';

/** Who connected, as the kernel said at accept time. */
export interface Caller {
  pid: number;
  uid: number;
  gid: number;
  process: CallerProcess;
}

/** Read peer credentials at accept (must be synchronous: the fd may be gone later). Fails closed. */
export function callerOfSocket(socket: Socket): Caller {
  const creds = readPeerCredentials(socket);
  const process = new CallerProcess(creds.pid, { pidfd: creds.pidfd });
  socket.once('close', () => process.close());
  return { pid: creds.pid, uid: creds.uid, gid: creds.gid, process };
}

export class WorkloadAttestationError extends Error {}

/** Selectors of the caller; the PID-reuse guard is checked after attestation (lessons row 16). */
export async function attestCaller(caller: Caller, hashCache: ExecutableHashCache, log: Logger): Promise<Selector[]> {
  const selectors = await attestWorkload({ pid: caller.pid, uid: caller.uid, gid: caller.gid }, { hashCache, logger: log });
  const change = caller.process.changeSinceConnect();
  if (change) throw new WorkloadAttestationError(change);
  return selectors;
}

/** A kernel-attested caller's entries, as a function so that a stream sees entry changes. */
export interface CallerEntries {
  /** Names the caller's selector set: callers with the same key have the same entries. */
  key: string;
  /** Matched again only after the entries changed; the array must not be changed. */
  entries(): readonly AgentEntry[];
}

/** Throws WorkloadAttestationError (callers answer Unavailable "workload attestation failed"). */
export async function attestedEntries(caller: Caller | undefined, entries: EntryCache, hashCache: ExecutableHashCache, log: Logger): Promise<CallerEntries> {
  if (!caller) throw new WorkloadAttestationError('no caller for this connection');
  let selectors: Set<string>;
  try {
    selectors = selectorSet(await attestCaller(caller, hashCache, log));
  } catch (err) {
    log.warn({ pid: caller.pid, err: (err as Error).message }, 'workload attestation failed');
    throw new WorkloadAttestationError((err as Error).message);
  }
  return { key: selectorSetKey(selectors), entries: entries.matcher(selectors) };
}
