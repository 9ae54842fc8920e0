import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import type { ExecutableHashCache } from '../../attestation/executable-hash.js';
import { CallerProcess } from '../../attestation/process-identity.js';
import type { Selector } from '../../attestation/selector.js';
import { attestWorkload, type WorkloadAttestationOptions } from '../../attestation/workload-attestor.js';
import type { UnixCaller } from '../../attestation/unix-selectors.js';

/**
 * Effective uid and gid from the `Uid:`/`Gid:` lines of /proc/<pid>/status (real, effective, saved,
 * fs). Effective, as SO_PEERCRED reports for socket callers and SPIRE's unix attestor uses.
 */
export function parseEffectiveIds(status: string): { uid: number; gid: number } {
  const field = (name: string): number => {
    const ids = new RegExp(`^${name}:\\s*(\\d+)\\s+(\\d+)`, 'm').exec(status);
    if (!ids) throw new Error(`no ${name}: line with real and effective ids in /proc status`);
    return Number(ids[2]);
  };
  return { uid: field('Uid'), gid: field('Gid') };
}

export interface PidAttestationOptions {
  hashCache: ExecutableHashCache;
  logger?: Logger;
  procRoot?: string;
  attest?: (caller: UnixCaller, options: WorkloadAttestationOptions) => Promise<Selector[]>;
}

/**
 * Selectors of the process a delegate names by pid (DI-04). No socket here, so uid and gid come
 * from /proc; the PID-reuse guard (lessons row 16) brackets every /proc read: the start time is
 * taken first and must be unchanged once attestation is done, or the selectors may describe a
 * process that took the pid in between, and attestation fails closed.
 */
export async function attestPid(pid: number, options: PidAttestationOptions): Promise<Selector[]> {
  if (!Number.isInteger(pid) || pid <= 0) throw new Error(`pid ${pid} does not name a process`);
  const procRoot = options.procRoot ?? '/proc';
  const process = new CallerProcess(pid, { procRoot });
  try {
    const { uid, gid } = parseEffectiveIds(await readFile(join(procRoot, String(pid), 'status'), 'utf8'));
    const selectors = await (options.attest ?? attestWorkload)({ pid, uid, gid }, { hashCache: options.hashCache, ...(options.logger && { logger: options.logger }), procRoot });
    if (!process.stillSameProcess()) throw new Error(`process ${pid} exited or its pid was reused during attestation`);
    return selectors;
  } finally {
    process.close();
  }
}
