import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../../common/clock.js';
import type { Logger } from '../../../common/logger.js';
import { parseSpiffeId } from '../../../spiffe/id.js';
import type { ExecutableHashCache } from '../../attestation/executable-hash.js';
import type { JwtSvidCache } from '../../cache/jwt-svid-cache.js';
import type { SvidCache } from '../../cache/svid-cache.js';
import type { AgentNode } from '../../node/agent-node.js';
import type { SyncClient } from '../../sync/sync-client.js';
import { jwtBundlesState, x509BundlesState, x509SvidState, type IdentityInputs, type IdentityState } from '../identity-states.js';
import { streamState, streamStateSpec } from '../state-stream.js';
import { agentChangeEvents } from '../views/agent-changes.js';
import { IdentityViews } from '../views/identity-views.js';
import { dedupeHints } from '../workload-identities.js';
import { authenticateBroker, checkBrokerHeader } from './caller-auth.js';
import { BrokerError, notEntitled, toBrokerStatus, workloadNotFound } from './errors.js';
import type { FetchJwtSvidRequest, FetchJwtSvidResponse, JwtBundlesResponse, X509BundlesResponse, X509SvidResponse } from './messages.js';
import { referencedPid, type WorkloadReferenceMessage } from './reference.js';
import { attestReferencedPid, type ReferencedWorkload } from './workload.js';

export interface BrokerApiDeps {
  node: AgentNode;
  sync: SyncClient;
  svids: SvidCache;
  jwts: JwtSvidCache;
  clock: Clock;
  hashCache: ExecutableHashCache;
  /** SPIFFE IDs of the brokers that may call (`broker.authorized_callers`). */
  authorizedCallers: readonly string[];
}

type Call = { getPeer(): string; metadata: grpc.Metadata; request: { reference?: WorkloadReferenceMessage | null } };

/** How often an open stream checks that its workload still runs (§4.9). */
export const workloadWatchIntervalMs = 1000;

/** `spiffe.broker.API` (consumers §6.4): every call names its workload by a PID reference. */
export function brokerApiHandlers(deps: BrokerApiDeps & { log: Logger; peerChainOf(call: { getPeer(): string }): readonly Uint8Array[] | undefined }): grpc.UntypedServiceImplementation {
  const { node, sync, svids, clock, log } = deps;
  const inputs: IdentityInputs = { svids, node, now: () => clock.now().getTime() };
  const views = new IdentityViews(agentChangeEvents(deps));
  const bundleDer = () => node.bundle?.x509Authorities ?? [];

  /** Every refusal is logged: who may call the broker API is a short allow-list, so a refusal is news. */
  function refused(method: string, err: unknown): Partial<grpc.StatusObject> {
    const status = toBrokerStatus(err);
    const code = status.code ?? grpc.status.UNKNOWN;
    const fields = { method, code: grpc.status[code], details: status.details, ...(err instanceof BrokerError && err.reason && { reason: err.reason }) };
    if (code === grpc.status.PERMISSION_DENIED || code === grpc.status.UNAUTHENTICATED || code === grpc.status.INTERNAL) log.warn(fields, 'broker API call refused');
    else log.info(fields, 'broker API call refused');
    return status;
  }

  /** Header, then the broker's mTLS SVID, then the reference: the order §4.8 errors are found in. */
  async function referencedWorkload(call: Call): Promise<ReferencedWorkload> {
    checkBrokerHeader(call.metadata);
    const broker = authenticateBroker(deps.peerChainOf(call), {
      trustDomain: node.trust.trustDomain,
      roots: bundleDer,
      authorizedCallers: deps.authorizedCallers,
      now: () => clock.now(),
    });
    const pid = referencedPid(call.request.reference);
    const workload = await attestReferencedPid(pid, { entries: sync.entries, hashCache: deps.hashCache, log });
    if (workload.entries().length === 0) {
      workload.release();
      throw notEntitled(pid);
    }
    log.debug({ broker, pid }, 'broker: serving a referenced workload');
    return workload;
  }

  /**
   * Full state per message, the first at once (§4.4), computed once for every workload with the
   * same selectors; ends NotFound when the workload stops (§4.9).
   */
  function workloadStream<M>(rpc: string, stateOf: IdentityState<M>): grpc.handleServerStreamingCall<unknown, M> {
    return (call) => {
      referencedWorkload(call as unknown as Call)
        .then((workload) => {
          let ended = false;
          const end = () => {
            if (ended) return;
            ended = true;
            clearInterval(watch);
            workload.release();
          };
          const watch = setInterval(() => {
            if (workload.alive()) return;
            const status = toBrokerStatus(workloadNotFound(workload.pid));
            end();
            call.emit('error', status);
          }, workloadWatchIntervalMs);
          watch.unref();
          call.on('cancelled', end);
          call.on('close', end);
          call.on('error', end);
          if (call.cancelled) end();
          const spec = streamStateSpec<M>(`${rpc} ${workload.key}`, (previous) => stateOf(workload.entries(), inputs, previous));
          streamState(
            call,
            views,
            spec,
            (state) => {
              if (!workload.alive()) return { kind: 'wait' };
              if (state.kind === 'deny') refused(rpc, new BrokerError(grpc.status.PERMISSION_DENIED, state.details));
              return state;
            },
            log,
          );
        })
        .catch((err: unknown) => call.emit('error', refused(rpc, err)));
    };
  }

  const SubscribeToX509SVID = workloadStream<X509SvidResponse>('SubscribeToX509SVID', x509SvidState);
  const SubscribeToX509Bundles = workloadStream<X509BundlesResponse>('SubscribeToX509Bundles', x509BundlesState);
  const SubscribeToJWTBundles = workloadStream<JwtBundlesResponse>('SubscribeToJWTBundles', jwtBundlesState);

  const FetchJWTSVID: grpc.handleUnaryCall<FetchJwtSvidRequest, FetchJwtSvidResponse> = async (call, callback) => {
    let workload: ReferencedWorkload | undefined;
    try {
      const audience = call.request.audience.filter((a) => a !== '');
      workload = await referencedWorkload(call);
      if (audience.length === 0) throw new BrokerError(grpc.status.INVALID_ARGUMENT, 'audience must be specified');
      let wanted: string | undefined;
      if (call.request.spiffe_id) {
        try {
          wanted = parseSpiffeId(call.request.spiffe_id).toString();
        } catch (err) {
          throw new BrokerError(grpc.status.INVALID_ARGUMENT, `invalid requested SPIFFE ID: ${(err as Error).message}`);
        }
      }
      const matched = workload.entries().filter((e) => wanted === undefined || e.spiffeId === wanted);
      if (matched.length === 0) throw notEntitled(workload.pid);
      const out = [];
      for (const entry of dedupeHints(matched)) {
        try {
          out.push({ spiffe_id: entry.spiffeId, svid: await deps.jwts.get(entry, audience), hint: entry.hint });
        } catch (err) {
          throw new BrokerError(grpc.status.UNAVAILABLE, `could not fetch JWT-SVID: ${(err as { details?: string }).details ?? (err as Error).message}`);
        }
      }
      callback(null, { svids: out });
    } catch (err) {
      callback(refused('FetchJWTSVID', err) as grpc.ServiceError);
    } finally {
      workload?.release();
    }
  };

  return { SubscribeToX509SVID, SubscribeToX509Bundles, FetchJWTSVID, SubscribeToJWTBundles } as unknown as grpc.UntypedServiceImplementation;
}
