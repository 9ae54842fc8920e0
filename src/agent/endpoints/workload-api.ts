import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import {
  toProtoStruct,
  workloadSecurityHeader,
  type JwtBundlesResponse,
  type JwtSvid,
  type JwtSvidRequest,
  type JwtSvidResponse,
  type ValidateJwtSvidRequest,
  type ValidateJwtSvidResponse,
  type X509BundlesResponse,
  type X509SvidResponse,
} from '../../common/grpc/workload-api-types.js';
import { concatDer } from '../../pki/pem.js';
import { encodeJwtBundleJwks } from '../../spiffe/bundle.js';
import { parseSpiffeId } from '../../spiffe/id.js';
import { verifyJwtSvid } from '../../spiffe/jwt-svid-verify.js';
import type { ExecutableHashCache } from '../attestation/executable-hash.js';
import type { SvidCache } from '../cache/svid-cache.js';
import type { JwtSvidCache } from '../cache/jwt-svid-cache.js';
import type { AgentNode } from '../node/agent-node.js';
import type { AgentEntry } from '../sync/entry-cache.js';
import type { SyncClient } from '../sync/sync-client.js';
import { attestedEntries, type Caller } from './caller.js';
import { streamState, type StreamState } from './state-stream.js';
import { dedupeHints, readySvids, toX509SvidMessage } from './workload-identities.js';

export interface WorkloadApiDeps {
  node: AgentNode;
  sync: SyncClient;
  svids: SvidCache;
  jwts: JwtSvidCache;
  clock: Clock;
  log: Logger;
  hashCache: ExecutableHashCache;
  callerOf(call: { getPeer(): string }): Caller | undefined;
}

const noIdentity = 'no identity issued';

class RpcError extends Error {
  constructor(
    readonly code: grpc.status,
    details: string,
  ) {
    super(details);
  }
}

function serviceError(err: unknown): Partial<grpc.StatusObject> {
  if (err instanceof RpcError) return { code: err.code, details: err.message, metadata: new grpc.Metadata() };
  return { code: grpc.status.UNAVAILABLE, details: (err as Error).message, metadata: new grpc.Metadata() };
}

/** WL-02: exactly one `workload.spiffe.io: true`, else InvalidArgument. */
function checkSecurityHeader(metadata: grpc.Metadata): void {
  const values = metadata.get(workloadSecurityHeader);
  if (values.length !== 1 || values[0] !== 'true') throw new RpcError(grpc.status.INVALID_ARGUMENT, 'security header missing from request');
}

export function workloadApiHandlers(deps: WorkloadApiDeps): grpc.UntypedServiceImplementation {
  const { node, sync, svids, clock, log } = deps;
  const trustDomainKey = () => `spiffe://${node.trust.trustDomain}`;
  const bundleDer = () => node.bundle?.x509Authorities ?? [];

  /** Caller's matching entries, from kernel-attested selectors (never from anything the caller says). */
  async function entriesOfCaller(call: { getPeer(): string; metadata: grpc.Metadata }): Promise<() => AgentEntry[]> {
    checkSecurityHeader(call.metadata);
    try {
      return await attestedEntries(deps.callerOf(call), sync.entries, deps.hashCache, log);
    } catch {
      throw new RpcError(grpc.status.UNAVAILABLE, 'workload attestation failed');
    }
  }

  const sources: [EventEmitter, string][] = [
    [svids, 'updated'],
    [sync, 'entries'],
    [node, 'bundle'],
    [node, 'trust'],
  ];
  const crls = () => node.trustState.crlsDer.map((d) => Buffer.from(d));
  const crlFingerprint = () => createHash('sha256').update(concatDer(node.trustState.crlsDer)).digest('hex');

  /**
   * Every refusal is on record with the caller as the kernel named it: a workload asking for an
   * identity it has not got (WL-30) is what an operator looks for first, as in SPIRE's log.
   */
  function refused(call: { getPeer(): string }, method: string, status: Partial<grpc.StatusObject>): Partial<grpc.StatusObject> {
    const caller = deps.callerOf(call);
    const code = status.code ?? grpc.status.UNKNOWN;
    const fields = { method, ...(caller ? { caller_pid: caller.pid, caller_uid: caller.uid } : { peer: call.getPeer() }), code: grpc.status[code], details: status.details };
    if (code === grpc.status.PERMISSION_DENIED || code === grpc.status.UNAVAILABLE) log.warn(fields, 'workload API call refused');
    else log.info(fields, 'workload API call refused');
    return status;
  }

  /** A stream whose state is computed from the caller's entries, after the caller is attested. */
  function callerStream<M>(method: string, compute: (entries: () => AgentEntry[]) => StreamState<M>): grpc.handleServerStreamingCall<unknown, M> {
    return (call) => {
      entriesOfCaller(call)
        .then((entries) =>
          streamState(
            call,
            () => {
              const state = compute(entries);
              if (state.kind === 'deny') refused(call, method, { code: grpc.status.PERMISSION_DENIED, details: state.details });
              return state;
            },
            sources,
          ),
        )
        .catch((err: unknown) => call.emit('error', refused(call, method, serviceError(err))));
    };
  }

  const FetchX509SVID = callerStream<X509SvidResponse>('FetchX509SVID', (entries) => {
    const matched = entries();
    if (matched.length === 0) return { kind: 'deny', details: noIdentity };
    const ready = dedupeHints(readySvids(matched, svids, clock.now().getTime()));
    // Entries exist but their SVIDs are being signed: the stream waits (lessons row 15).
    if (ready.length === 0) return { kind: 'wait' };
    const roots = bundleDer();
    const fingerprint = `${ready.map((s) => s.serial).join(',')}|${createHash('sha256').update(concatDer(roots)).digest('hex')}|${crlFingerprint()}`;
    return { kind: 'send', fingerprint, message: { svids: ready.map((s) => toX509SvidMessage(s, roots)), crl: crls(), federated_bundles: {} } };
  });

  const FetchX509Bundles = callerStream<X509BundlesResponse>('FetchX509Bundles', (entries) => {
    if (entries().length === 0) return { kind: 'deny', details: noIdentity };
    const der = concatDer(bundleDer());
    return { kind: 'send', fingerprint: `${createHash('sha256').update(der).digest('hex')}|${crlFingerprint()}`, message: { crl: crls(), bundles: { [trustDomainKey()]: Buffer.from(der) } } };
  });

  const FetchJWTBundles = callerStream<JwtBundlesResponse>('FetchJWTBundles', (entries) => {
    if (entries().length === 0) return { kind: 'deny', details: noIdentity };
    const jwks = encodeJwtBundleJwks(node.bundle?.jwtAuthorities ?? []);
    return { kind: 'send', fingerprint: jwks, message: { bundles: { [trustDomainKey()]: Buffer.from(jwks) } } };
  });

  const FetchJWTSVID: grpc.handleUnaryCall<JwtSvidRequest, JwtSvidResponse> = async (call, callback) => {
    try {
      const entries = await entriesOfCaller(call);
      const audience = call.request.audience.filter((a) => a !== '');
      if (audience.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'audience must be specified');
      let wanted: string | undefined;
      if (call.request.spiffe_id) {
        try {
          wanted = parseSpiffeId(call.request.spiffe_id).toString();
        } catch (err) {
          throw new RpcError(grpc.status.INVALID_ARGUMENT, `invalid requested SPIFFE ID: ${(err as Error).message}`);
        }
      }
      const matched = entries().filter((e) => wanted === undefined || e.spiffeId === wanted);
      if (matched.length === 0) throw new RpcError(grpc.status.PERMISSION_DENIED, noIdentity);
      const out: JwtSvid[] = [];
      for (const entry of dedupeHints(matched)) {
        try {
          out.push({ spiffe_id: entry.spiffeId, svid: await deps.jwts.get(entry, audience), hint: entry.hint });
        } catch (err) {
          throw new RpcError(grpc.status.UNAVAILABLE, `could not fetch JWT-SVID: ${(err as { details?: string }).details ?? (err as Error).message}`);
        }
      }
      callback(null, { svids: out });
    } catch (err) {
      callback(refused(call, 'FetchJWTSVID', serviceError(err)) as grpc.ServiceError);
    }
  };

  const ValidateJWTSVID: grpc.handleUnaryCall<ValidateJwtSvidRequest, ValidateJwtSvidResponse> = async (call, callback) => {
    try {
      checkSecurityHeader(call.metadata);
      if (!call.request.audience) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'audience must be specified');
      if (!call.request.svid) throw new RpcError(grpc.status.INVALID_ARGUMENT, 'svid must be specified');
      let result;
      try {
        result = await verifyJwtSvid(call.request.svid, (td) => (td === node.trust.trustDomain ? (node.bundle?.jwtAuthorities ?? []) : undefined), {
          audience: [call.request.audience],
          at: clock.now(),
        });
      } catch (err) {
        throw new RpcError(grpc.status.INVALID_ARGUMENT, (err as Error).message);
      }
      const claims: Record<string, unknown> = { ...result.claims, aud: result.audience };
      callback(null, { spiffe_id: result.spiffeId.toString(), claims: toProtoStruct(claims) });
    } catch (err) {
      callback(refused(call, 'ValidateJWTSVID', serviceError(err)) as grpc.ServiceError);
    }
  };

  const unimplemented = (what: string) => (call: grpc.ServerWritableStream<unknown, unknown>) => {
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: `fetching ${what} is not implemented`, metadata: new grpc.Metadata() });
  };

  return {
    FetchX509SVID,
    FetchX509Bundles,
    FetchJWTSVID,
    FetchJWTBundles,
    ValidateJWTSVID,
    FetchWITSVID: unimplemented('WIT-SVIDs'),
    FetchWITBundles: unimplemented('WIT bundles'),
  } as unknown as grpc.UntypedServiceImplementation;
}
