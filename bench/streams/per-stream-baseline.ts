// The FetchX509SVID path as it was before identity views (commit f7d323a), kept only as this
// benchmark's baseline: every open stream listens to every change event itself and, on each one,
// rescans every entry, then builds, hashes and compares its own message.
import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { attestCaller, type Caller } from '../../src/agent/endpoints/caller.js';
import { dedupeHints, readySvids, toX509SvidMessage } from '../../src/agent/endpoints/workload-identities.js';
import type { ExecutableHashCache } from '../../src/agent/attestation/executable-hash.js';
import type { SvidCache } from '../../src/agent/cache/svid-cache.js';
import type { AgentNode } from '../../src/agent/node/agent-node.js';
import { entryMatches, selectorSet, type AgentEntry } from '../../src/agent/sync/entry-cache.js';
import type { SyncClient } from '../../src/agent/sync/sync-client.js';
import type { Clock } from '../../src/common/clock.js';
import type { X509SvidResponse } from '../../src/common/grpc/workload-api-types.js';
import type { Logger } from '../../src/common/logger.js';
import { concatDer } from '../../src/pki/pem.js';

export interface PerStreamDeps {
  node: AgentNode;
  sync: SyncClient;
  svids: SvidCache;
  clock: Clock;
  log: Logger;
  hashCache: ExecutableHashCache;
  callerOf(call: { getPeer(): string }): Caller | undefined;
}

type State = { kind: 'send'; message: X509SvidResponse; fingerprint: string } | { kind: 'wait' } | { kind: 'deny'; details: string };

/** The old EntryCache.matching: every entry, every time. */
function matchingByScan(all: AgentEntry[], callerSelectors: ReadonlySet<string>): AgentEntry[] {
  return all.filter((e) => entryMatches(e, callerSelectors)).sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
}

export function perStreamFetchX509Svid(deps: PerStreamDeps): grpc.handleServerStreamingCall<unknown, X509SvidResponse> {
  const { node, sync, svids, clock } = deps;
  const sources: [EventEmitter, string][] = [
    [svids, 'updated'],
    [sync, 'entries'],
    [node, 'bundle'],
    [node, 'trust'],
  ];
  const crls = () => node.trustState.crlsDer.map((d) => Buffer.from(d));
  const crlFingerprint = () => createHash('sha256').update(concatDer(node.trustState.crlsDer)).digest('hex');

  const compute = (selectors: ReadonlySet<string>): State => {
    const matched = matchingByScan(sync.entries.all(), selectors);
    if (matched.length === 0) return { kind: 'deny', details: 'no identity issued' };
    const ready = dedupeHints(readySvids(matched, svids, clock.now().getTime()));
    if (ready.length === 0) return { kind: 'wait' };
    const roots = node.bundle?.x509Authorities ?? [];
    const fingerprint = `${ready.map((s) => s.serial).join(',')}|${createHash('sha256').update(concatDer(roots)).digest('hex')}|${crlFingerprint()}`;
    return { kind: 'send', fingerprint, message: { svids: ready.map((s) => toX509SvidMessage(s, roots)), crl: crls(), federated_bundles: {} } };
  };

  const stream = (call: grpc.ServerWritableStream<unknown, X509SvidResponse>, selectors: ReadonlySet<string>) => {
    let last: string | undefined;
    let done = false;
    const update = () => {
      if (done) return;
      const state = compute(selectors);
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
  };

  return (call) => {
    const caller = deps.callerOf(call);
    if (!caller) {
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'workload attestation failed', metadata: new grpc.Metadata() });
      return;
    }
    attestCaller(caller, deps.hashCache, deps.log)
      .then((selectors) => stream(call, selectorSet(selectors)))
      .catch(() => call.emit('error', { code: grpc.status.UNAVAILABLE, details: 'workload attestation failed', metadata: new grpc.Metadata() }));
  };
}
