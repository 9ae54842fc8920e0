/**
 * How a Workload API client makes its calls: unary ones as promises, and server streams in the
 * two ways go-spiffe reads them: take the first response and hang up (its Fetch*), or keep the
 * stream open and reconnect when it drops (its Watch*, WL-20).
 */
import { status, type ClientReadableStream, type ServiceError, type StatusObject, type requestCallback } from '@grpc/grpc-js';
import { WorkloadApiError } from './errors.js';
import { withoutEmptyResolutionNote } from '../common/grpc/status-details.js';

export interface BackoffSettings {
  initialMs: number;
  maxMs: number;
}

/** go-spiffe's default: 1 s, 2 s, 3 s ... up to 30 s, back to the start after a good response. */
export const defaultBackoff: BackoffSettings = { initialMs: 1000, maxMs: 30_000 };

export class LinearBackoff {
  private attempts = 0;

  constructor(private readonly settings: BackoffSettings = defaultBackoff) {}

  next(): number {
    this.attempts += 1;
    return Math.min(this.settings.initialMs * this.attempts, this.settings.maxMs);
  }

  reset(): void {
    this.attempts = 0;
  }
}

export function errorFromStatus(result: Pick<StatusObject, 'code' | 'details'>): WorkloadApiError {
  return new WorkloadApiError(result.code, withoutEmptyResolutionNote(result.details));
}

export function errorFromServiceError(err: ServiceError): WorkloadApiError {
  return errorFromStatus(err);
}

/** `invoke` starts a unary call with the given callback. */
export function unaryResponse<R>(invoke: (callback: requestCallback<R>) => void): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    invoke((err, value) => {
      if (err) reject(errorFromServiceError(err));
      else if (value === undefined) reject(new WorkloadApiError(status.UNKNOWN, 'the Workload API sent no response'));
      else resolve(value);
    });
  });
}

/** The first response of a stream; the stream is cancelled as soon as it arrives. */
export function firstResponse<R>(call: ClientReadableStream<R>): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    let settled = false;
    call.on('data', (response: R) => {
      if (settled) return;
      settled = true;
      resolve(response);
      call.cancel();
    });
    // The status event always follows; errors are read from it, this only keeps Node from throwing.
    call.on('error', () => undefined);
    call.on('status', (result: StatusObject) => {
      if (settled) return;
      settled = true;
      reject(result.code === status.OK ? new WorkloadApiError(status.UNKNOWN, 'the Workload API closed the stream without a response') : errorFromStatus(result));
    });
  });
}

export interface WatchHandlers<R> {
  open(): ClientReadableStream<R>;
  /** Called with each response; a throw is reported through onError and the stream stays open. */
  onResponse(response: R): void;
  /** `retrying` is false when the watch has ended for good (InvalidArgument, Canceled). */
  onError(err: Error, retrying: boolean): void;
  backoff: LinearBackoff;
}

/** go-spiffe's `handleWatchError`: stop on InvalidArgument and Canceled, else back off and reconnect. */
export function watchStream<R>(handlers: WatchHandlers<R>): () => void {
  let stopped = false;
  let call: ClientReadableStream<R> | undefined;
  let timer: NodeJS.Timeout | undefined;

  const connect = () => {
    if (stopped) return;
    const current = handlers.open();
    call = current;
    current.on('data', (response: R) => {
      if (stopped) return;
      handlers.backoff.reset();
      try {
        handlers.onResponse(response);
      } catch (err) {
        handlers.onError(err instanceof Error ? err : new Error(String(err)), true);
      }
    });
    current.on('error', () => undefined);
    current.on('status', (result: StatusObject) => {
      if (stopped || call !== current) return;
      const err = result.code === status.OK ? new WorkloadApiError(status.UNKNOWN, 'the Workload API closed the stream') : errorFromStatus(result);
      const retrying = err.code !== status.INVALID_ARGUMENT && err.code !== status.CANCELLED;
      handlers.onError(err, retrying);
      if (retrying) timer = setTimeout(connect, handlers.backoff.next());
      else stopped = true;
    });
  };

  connect();
  return () => {
    stopped = true;
    clearTimeout(timer);
    call?.cancel();
    call = undefined;
  };
}
