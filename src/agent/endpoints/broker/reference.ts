import { existsSync } from 'node:fs';
import { invalidReference } from './errors.js';
import { decodePidReference, WireError } from './wire.js';

/** `WorkloadReference{google.protobuf.Any reference = 1}` as proto-loader gives it. */
export interface WorkloadReferenceMessage {
  reference?: { type_url: string; value: Buffer } | null;
}

export const pidReferenceType = 'type.googleapis.com/spiffe.broker.WorkloadPIDReference';
export const kubernetesReferenceType = 'type.googleapis.com/spiffe.broker.KubernetesObjectReference';

/** The type name of an Any's URL: whatever follows the last '/' (as protobuf resolves it). */
const typeName = (typeUrl: string) => typeUrl.slice(typeUrl.lastIndexOf('/') + 1);

/**
 * The pid a request refers to (§4.8: a missing, malformed or unsupported reference is
 * InvalidArgument/WORKLOAD_REFERENCE_INVALID). Only PID references are resolved by this agent:
 * Kubernetes object references and vendor types are refused with the same error.
 */
export function referencedPid(reference: WorkloadReferenceMessage | null | undefined): number {
  const any = reference?.reference;
  if (!any || !any.type_url) throw invalidReference('a workload reference is required');
  const name = typeName(any.type_url);
  if (name !== 'spiffe.broker.WorkloadPIDReference') throw invalidReference(`unsupported reference type ${any.type_url}`, { type_url: any.type_url });
  let pid: number;
  try {
    ({ pid } = decodePidReference(any.value));
  } catch (err) {
    if (err instanceof WireError) throw invalidReference(`malformed WorkloadPIDReference: ${err.message}`);
    throw err;
  }
  if (pid <= 0) throw invalidReference(`pid must be a positive integer, got ${pid}`, { pid: String(pid) });
  return pid;
}

/** Whether a process with this pid exists now (in the agent's pid namespace). */
export function processExists(pid: number, procRoot = '/proc'): boolean {
  return existsSync(`${procRoot}/${pid}`);
}
