import type { status as GrpcStatus } from '@grpc/grpc-js';

/** The agent answered, but with something a go-spiffe client would reject (spec §2.2, §5.5). */
export class WorkloadResponseError extends Error {
  override readonly name = 'WorkloadResponseError';
}

/** gRPC code names as Go prints them, by code number. */
const GO_CODE_NAMES = [
  'OK', 'Canceled', 'Unknown', 'InvalidArgument', 'DeadlineExceeded', 'NotFound', 'AlreadyExists', 'PermissionDenied',
  'ResourceExhausted', 'FailedPrecondition', 'Aborted', 'OutOfRange', 'Unimplemented', 'Internal', 'Unavailable', 'DataLoss',
  'Unauthenticated',
];

/**
 * The call ended with a gRPC status. The message reads like go-spiffe's (`rpc error: code =
 * PermissionDenied desc = no identity issued`), which is what SPIRE users search for.
 */
export class WorkloadApiError extends Error {
  override readonly name = 'WorkloadApiError';
  readonly code: GrpcStatus;
  /** The status message exactly as the agent sent it. */
  readonly details: string;

  constructor(code: GrpcStatus, details: string) {
    super(`rpc error: code = ${GO_CODE_NAMES[code] ?? `Code(${code})`} desc = ${details}`);
    this.code = code;
    this.details = details;
  }

  get codeName(): string {
    return GO_CODE_NAMES[this.code] ?? `Code(${this.code})`;
  }
}
