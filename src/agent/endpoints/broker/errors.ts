import * as grpc from '@grpc/grpc-js';
import { encodeStatusWithErrorInfo } from './wire.js';

/** The §4.8 reasons of the SPIFFE Broker API, sent as google.rpc.ErrorInfo in domain spiffe.io. */
export type BrokerReason = 'WORKLOAD_REFERENCE_INVALID' | 'WORKLOAD_NOT_FOUND' | 'WORKLOAD_NOT_ENTITLED';

export const errorDomain = 'spiffe.io';

/** A failure that becomes exactly this gRPC status, with an ErrorInfo when it has a §4.8 reason. */
export class BrokerError extends Error {
  constructor(
    readonly code: grpc.status,
    details: string,
    readonly reason?: BrokerReason,
    readonly info: Record<string, string> = {},
  ) {
    super(details);
  }
}

export const invalidReference = (details: string, info: Record<string, string> = {}) => new BrokerError(grpc.status.INVALID_ARGUMENT, details, 'WORKLOAD_REFERENCE_INVALID', info);
export const workloadNotFound = (pid: number) => new BrokerError(grpc.status.NOT_FOUND, `workload with pid ${pid} not found`, 'WORKLOAD_NOT_FOUND', { pid: String(pid) });
export const notEntitled = (pid: number) => new BrokerError(grpc.status.PERMISSION_DENIED, 'no identity issued', 'WORKLOAD_NOT_ENTITLED', { pid: String(pid) });

export function toBrokerStatus(err: unknown): Partial<grpc.StatusObject> {
  const metadata = new grpc.Metadata();
  if (!(err instanceof BrokerError)) return { code: grpc.status.INTERNAL, details: (err as Error).message, metadata };
  if (err.reason) metadata.set('grpc-status-details-bin', encodeStatusWithErrorInfo(err.code, err.message, { reason: err.reason, domain: errorDomain, metadata: err.info }));
  return { code: err.code, details: err.message, metadata };
}
