import type * as grpc from '@grpc/grpc-js';

/**
 * On a ResourceExhausted answer, the server says when trying again is worth it, in milliseconds
 * (decimal), in this trailer: the signing queue knows how long it needs, the agent does not.
 */
export const retryAfterTrailer = 'sigil-retry-after-ms';

/** The server's retry hint of a failed call, if it gave a sane one (at most an hour). */
export function retryAfterMsOf(err: unknown): number | undefined {
  const metadata = (err as Partial<grpc.ServiceError> | undefined)?.metadata;
  const value = metadata?.get(retryAfterTrailer)?.[0];
  if (typeof value !== 'string' || !/^\d{1,7}$/.test(value)) return undefined;
  const ms = Number(value);
  return ms <= 3_600_000 ? ms : undefined;
}
