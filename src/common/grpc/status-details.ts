/**
 * grpc-js ends a failed connection's status with ". Resolution note: <note>", and the note is
 * empty for unix sockets and plain addresses, which leaves a dangling fragment in every message.
 */
export function withoutEmptyResolutionNote(details: string): string {
  return details.replace(/\.? Resolution note: ?$/, '');
}

/** The status details of a gRPC error (else its message), fit to show a person. */
export function grpcErrorText(err: unknown): string {
  const details = (err as { details?: unknown } | null)?.details;
  return typeof details === 'string' ? withoutEmptyResolutionNote(details) : err instanceof Error ? err.message : String(err);
}
