import * as grpc from '@grpc/grpc-js';
import type { IdentityViews, ViewSpec } from './views/identity-views.js';
import type { Logger } from '../../common/logger.js';
import { LatestMessageWriter } from './latest-message-writer.js';

/** A stream that has not taken its messages for this long, while newer ones wait, is ended. */
export const stuckStreamMs = 120_000;

/** End `call` as stuck: Unavailable (clients reconnect), with a log line. */
export function endStuckStream(call: grpc.ServerWritableStream<unknown, unknown>, log: Logger, what: string, afterMs: number = stuckStreamMs): void {
  log.warn({ stream: what, after_s: afterMs / 1000 }, 'ended a stream whose client has not read its messages');
  call.emit('error', { code: grpc.status.UNAVAILABLE, details: `the client has not read this stream's messages for ${afterMs / 1000} s; reconnect`, metadata: new grpc.Metadata() });
}

/** `deny` ends the stream with `code` (PermissionDenied unless said otherwise). */
export type StreamState<M> = { kind: 'send'; message: M; fingerprint: string } | { kind: 'wait' } | { kind: 'deny'; details: string; code?: grpc.status };

/** Changes exactly when a stream state does: its kind, and the message or the reason for a denial. */
export function stateFingerprint(state: StreamState<unknown>): string {
  if (state.kind === 'send') return `send ${state.fingerprint}`;
  return state.kind === 'deny' ? `deny ${state.details}` : 'wait';
}

/** A shared view whose state is a stream state. */
export function streamStateSpec<M>(key: string, compute: (previous: StreamState<M> | undefined) => StreamState<M>): ViewSpec<StreamState<M>> {
  return { key, compute, fingerprint: stateFingerprint };
}

/** A message to send; `previous` is kept as it is (its message not built again) when the fingerprint did not move. */
export function sendState<M>(fingerprint: string, previous: StreamState<M> | undefined, build: () => M): StreamState<M> {
  if (previous?.kind === 'send' && previous.fingerprint === fingerprint) return previous;
  return { kind: 'send', fingerprint, message: build() };
}

/**
 * A Workload API stream: full state every time (WL-21), the first message as soon as there is
 * one (WL-22), a new one on every change that alters it (WL-23), and the end with
 * PermissionDenied once the caller has no identity left (WL-30). The state is computed once per
 * change for every stream of the same view; `admit` makes it this stream's (a per-stream gate,
 * or the identity). The stream only compares fingerprints and writes.
 */
export function streamState<S, M>(call: grpc.ServerWritableStream<unknown, M>, views: IdentityViews, spec: ViewSpec<S>, admit: (shared: S) => StreamState<M>, log: Logger, stuckAfterMs = stuckStreamMs): void {
  // Cancelled while its caller was attested: 'cancelled' has fired already and would never close the watch.
  if (call.cancelled || call.destroyed) return;
  const writer = new LatestMessageWriter<M>(call, {
    afterMs: stuckAfterMs,
    onStuck: () => {
      finish();
      endStuckStream(call as grpc.ServerWritableStream<unknown, unknown>, log, spec.key, stuckAfterMs);
    },
  });
  let last: string | undefined;
  let done = false;
  const update = (shared: S) => {
    if (done) return;
    const state = admit(shared);
    if (state.kind === 'wait') return;
    if (state.kind === 'deny') {
      finish();
      call.emit('error', { code: state.code ?? grpc.status.PERMISSION_DENIED, details: state.details, metadata: new grpc.Metadata() });
      return;
    }
    if (state.fingerprint === last) return;
    last = state.fingerprint;
    writer.write(state.message);
  };
  const watch = views.watch(spec, update);
  const finish = () => {
    done = true;
    writer.close();
    watch.close();
  };
  call.on('cancelled', finish);
  call.on('close', finish);
  update(watch.current());
}
