import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../common/logger.js';
import type { ViewWatch } from '../views/identity-views.js';
import { LatestMessageWriter } from '../latest-message-writer.js';
import { endStuckStream, stuckStreamMs } from '../state-stream.js';
import type { CallerSecrets } from './caller-secrets.js';
import type { DiscoveryRequest, DiscoveryResponse } from './envoy-messages.js';
import { notAuthorizedError, statusOf } from './sds-error.js';
import type { SecretSelection } from './secret-builder.js';
import { SecretStreamSession } from './stream-session.js';

export interface SecretStreamSources {
  /** What the (attested) caller may be served: `current()` now, and `listener` on every change. */
  watch(listener: (state: CallerSecrets) => void): ViewWatch<CallerSecrets>;
  select(request: DiscoveryRequest, state: CallerSecrets): SecretSelection;
  log: Logger;
}

/**
 * Runs one StreamSecrets stream of an attested caller: every change of what the caller may be
 * served is one SDS update (SDS-11); requests and updates go through the session; an error the
 * session raises ends the stream with its status. Returns the function that stops it.
 */
export function runSecretStream(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>, sources: SecretStreamSources): () => void {
  let closed = false;
  let current: CallerSecrets | undefined;
  const session = new SecretStreamSession((request) => {
    const state = current;
    if (!state) return 'wait';
    const selection = sources.select(request, state);
    if (selection.unserved.length === 0) return selection.secrets;
    // A named SVID that is being signed or replaced (after a revocation) comes with a later update.
    if (selection.unserved.every((name) => state.pendingSpiffeIds.has(name))) return 'wait';
    throw notAuthorizedError(selection.unserved);
  }, sources.log);

  const writer = new LatestMessageWriter<DiscoveryResponse>(call, {
    afterMs: stuckStreamMs,
    onStuck: () => {
      stop();
      endStuckStream(call as unknown as grpc.ServerWritableStream<unknown, unknown>, sources.log, 'StreamSecrets');
    },
  });
  const step = (action: () => DiscoveryResponse | undefined) => {
    if (closed) return;
    try {
      const response = action();
      if (response) writer.write(response);
    } catch (err) {
      stop();
      call.emit('error', statusOf(err));
    }
  };
  const refresh = (state: CallerSecrets) =>
    step(() => {
      if (!state.servable || state.fingerprint === current?.fingerprint) return undefined;
      current = state;
      return session.onUpdate();
    });
  const watch = sources.watch(refresh);
  const stop = () => {
    closed = true;
    writer.close();
    watch.close();
  };

  refresh(watch.current());
  call.on('data', (request: DiscoveryRequest) => step(() => session.onRequest(request)));
  // Envoy closing its side ends the stream cleanly (SDS-11).
  call.on('end', () => {
    stop();
    call.end();
  });
  return stop;
}
