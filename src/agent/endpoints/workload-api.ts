import * as grpc from '@grpc/grpc-js';
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
import { parseSpiffeId } from '../../spiffe/id.js';
import { verifyJwtSvid } from '../../spiffe/jwt-svid-verify.js';
import type { ExecutableHashCache } from '../attestation/executable-hash.js';
import type { SvidCache } from '../cache/svid-cache.js';
import type { JwtSvidCache } from '../cache/jwt-svid-cache.js';
import type { AgentNode } from '../node/agent-node.js';
import type { SyncClient } from '../sync/sync-client.js';
import { attestedEntries, type Caller, type CallerEntries } from './caller.js';
import { jwtBundlesState, noIdentity, x509BundlesState, x509SvidState, type IdentityInputs, type IdentityState } from './identity-states.js';
import { streamState, streamStateSpec } from './state-stream.js';
import { agentChangeEvents } from './views/agent-changes.js';
import { IdentityViews } from './views/identity-views.js';
import { dedupeHints } from './workload-identities.js';

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
  const inputs: IdentityInputs = { svids, node, now: () => clock.now().getTime() };
  const views = new IdentityViews(agentChangeEvents(deps));

  /** Caller's matching entries, from kernel-attested selectors (never from anything the caller says). */
  async function entriesOfCaller(call: { getPeer(): string; metadata: grpc.Metadata }): Promise<CallerEntries> {
    checkSecurityHeader(call.metadata);
    try {
      return await attestedEntries(deps.callerOf(call), sync.entries, deps.hashCache, log);
    } catch {
      throw new RpcError(grpc.status.UNAVAILABLE, 'workload attestation failed');
    }
  }

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

  /** A stream of what `stateOf` makes of the caller's entries, computed once for every caller with the same selectors. */
  function callerStream<M>(rpc: string, stateOf: IdentityState<M>): grpc.handleServerStreamingCall<unknown, M> {
    return (call) => {
      entriesOfCaller(call)
        .then((caller) =>
          streamState(
            call,
            views,
            streamStateSpec<M>(`${rpc} ${caller.key}`, (previous) => stateOf(caller.entries(), inputs, previous)),
            (state) => {
              if (state.kind === 'deny') refused(call, rpc, { code: state.code ?? grpc.status.PERMISSION_DENIED, details: state.details });
              return state;
            },
            log,
          ),
        )
        .catch((err: unknown) => call.emit('error', refused(call, rpc, serviceError(err))));
    };
  }

  const FetchX509SVID = callerStream<X509SvidResponse>('FetchX509SVID', x509SvidState);
  const FetchX509Bundles = callerStream<X509BundlesResponse>('FetchX509Bundles', x509BundlesState);
  const FetchJWTBundles = callerStream<JwtBundlesResponse>('FetchJWTBundles', jwtBundlesState);

  const FetchJWTSVID: grpc.handleUnaryCall<JwtSvidRequest, JwtSvidResponse> = async (call, callback) => {
    try {
      const caller = await entriesOfCaller(call);
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
      const matched = caller.entries().filter((e) => wanted === undefined || e.spiffeId === wanted);
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
