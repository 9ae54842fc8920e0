import * as grpc from '@grpc/grpc-js';
import type { EventEmitter } from 'node:events';

export type StreamState<M> = { kind: 'send'; message: M; fingerprint: string } | { kind: 'wait' } | { kind: 'deny'; details: string };

/**
 * A Workload API stream: full state every time (WL-21), the first message as soon as there is
 * one (WL-22), a new one on every change that alters it (WL-23), and the end with
 * PermissionDenied once the caller has no identity left (WL-30).
 */
export function streamState<M>(call: grpc.ServerWritableStream<unknown, M>, compute: () => StreamState<M>, sources: readonly [EventEmitter, string][]): void {
  let last: string | undefined;
  let done = false;
  const update = () => {
    if (done) return;
    const state = compute();
    if (state.kind === 'wait') return;
    if (state.kind === 'deny') {
      finish();
      call.emit('error', { code: grpc.status.PERMISSION_DENIED, details: state.details, metadata: new grpc.Metadata() });
      return;
    }
    if (state.fingerprint === last) return;
    last = state.fingerprint;
    call.write(state.message);
  };
  const finish = () => {
    done = true;
    for (const [emitter, event] of sources) emitter.off(event, update);
  };
  for (const [emitter, event] of sources) emitter.on(event, update);
  call.on('cancelled', finish);
  call.on('close', finish);
  update();
}
