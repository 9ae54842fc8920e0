import * as grpc from '@grpc/grpc-js';

/** An SDS failure with the gRPC status SPIRE's handler gives for it. */
export class SdsError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

const goEscapes: Record<string, string> = { '\x07': '\\a', '\b': '\\b', '\f': '\\f', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\v': '\\v', '\\': '\\\\', '"': '\\"' };

/** Go's strconv.Quote for the characters a resource name can hold. */
function goQuote(text: string): string {
  let body = '';
  for (const c of text) {
    const code = c.charCodeAt(0);
    body += goEscapes[c] ?? (code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : c);
  }
  return `"${body}"`;
}

/** SDS-07: the exact text of SPIRE's `%q` of the sorted names that nothing was served for. */
export function notAuthorizedError(names: readonly string[]): SdsError {
  const list = [...names].sort().map(goQuote).join(' ');
  return new SdsError(grpc.status.INVALID_ARGUMENT, `workload is not authorized for the requested identities [${list}]`);
}

/** SDS-06: `ALL` needs the SPIFFE validator (SPIRE's text names 1.17; the cut-off is 1.18). */
export const allBundlesNeedValidatorError = () => new SdsError(grpc.status.INTERNAL, 'unable to use "SPIFFE validator" on Envoy below 1.17');

export function statusOf(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof SdsError) return { code: err.code, details: err.message, metadata: new grpc.Metadata() };
  return { code: grpc.status.INTERNAL, details: (err as Error).message, metadata: new grpc.Metadata() };
}
