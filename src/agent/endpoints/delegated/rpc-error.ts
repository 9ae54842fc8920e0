import * as grpc from '@grpc/grpc-js';

/** A failure that becomes exactly this gRPC status and text (the texts of spec §6.3). */
export class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    details: string,
    /** What went wrong in more words than the status text gives: for the agent's log only. */
    readonly reason?: string,
  ) {
    super(details);
  }
}

export function toServiceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof RpcError) return { code: err.code, details: err.message, metadata: new grpc.Metadata() };
  return { code: grpc.status.INTERNAL, details: (err as Error).message, metadata: new grpc.Metadata() };
}

export const statusText = {
  noIdentity: 'no identity issued',
  notDelegate: 'caller not configured as an authorized delegate',
  attestationFailed: 'workload attestation failed',
  selectorsOrPid: 'must provide either selectors or non-zero PID, but not both',
  badSelectors: 'could not parse provided selectors',
  noAudience: 'audience must be specified',
} as const;
