import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../../common/clock.js';
import type { Logger } from '../../../common/logger.js';
import { concatDer } from '../../../pki/pem.js';
import type { ExecutableHashCache } from '../../attestation/executable-hash.js';
import type { JwtSvidCache } from '../../cache/jwt-svid-cache.js';
import type { SvidCache } from '../../cache/svid-cache.js';
import type { DelegateScopeConfig } from '../../config.js';
import type { AgentNode } from '../../node/agent-node.js';
import { selectorSet, selectorSetKey, type AgentEntry } from '../../sync/entry-cache.js';
import { selectorKey } from '../../sync/selector-index.js';
import type { SyncClient } from '../../sync/sync-client.js';
import { attestCaller, type Caller } from '../caller.js';
import { sendState, stateFingerprint, streamState, type StreamState } from '../state-stream.js';
import { jwtBundleJwks, x509RootsFingerprint } from '../trust-fingerprints.js';
import { agentChangeEvents } from '../views/agent-changes.js';
import { IdentityViews, type ViewSpec } from '../views/identity-views.js';
import { DelegatePolicy, type Authorization } from './authorization.js';
import { delegatedEntries, type DelegatedEntries, type TargetSelectors } from './delegated-entries.js';
import type {
  FetchJwtSvidsRequest,
  FetchJwtSvidsResponse,
  ProtoJwtSvid,
  SubscribeToJwtBundlesResponse,
  SubscribeToX509BundlesResponse,
  SubscribeToX509SvidsRequest,
  SubscribeToX509SvidsResponse,
} from './messages.js';
import { attestPid } from './pid-attestation.js';
import { RpcError, statusText, toServiceError } from './rpc-error.js';
import { toJwtSvidMessage } from './svid-messages.js';
import { parseTarget } from './target.js';
import { delegatedSvids, X509SvidsSubscription, type DelegatedSvids } from './x509-svids-state.js';

export interface DelegatedIdentityDeps {
  node: AgentNode;
  sync: SyncClient;
  svids: SvidCache;
  jwts: JwtSvidCache;
  clock: Clock;
  hashCache: ExecutableHashCache;
  /** SPIFFE IDs whose holders may use the API (`authorized_delegates`). */
  authorizedDelegates: readonly string[];
  /** Per-delegate limits (`delegate_scopes`), keyed by delegate SPIFFE ID. */
  delegateScopes: Readonly<Record<string, DelegateScopeConfig>>;
}

type Call = { getPeer(): string; request: unknown };

/** A delegate as its kernel-attested selectors describe it. */
interface DelegateCaller {
  /** Names the selector set: callers with the same key are the same delegate. */
  key: string;
  /** Its own entries now (matched again only after the entries changed). */
  entries(): readonly AgentEntry[];
}

/** What every SubscribeToX509SVIDs stream of one delegate for one target may be sent. */
type DelegatedSvidsState = { allowed: false; details: string } | { allowed: true; svids: DelegatedSvids };

const delegatedSvidsFingerprint = (state: DelegatedSvidsState) => (state.allowed ? `${state.svids.complete} ${state.svids.fingerprint}` : `deny ${state.details}`);

/** Names a target: the selectors in the order asked (a refusal names them in that order) and how they were obtained. */
const targetKey = (target: TargetSelectors) => JSON.stringify([target.attestedByAgent, target.selectors.map(selectorKey)]);

/** `spire.api.agent.delegatedidentity.v1.DelegatedIdentity` (spec §6, consumers §6.1). */
export function delegatedIdentityHandlers(deps: DelegatedIdentityDeps & { log: Logger; callerOf(call: { getPeer(): string }): Caller | undefined }): grpc.UntypedServiceImplementation {
  const { node, sync, svids, clock, log } = deps;
  const policy = new DelegatePolicy(deps.authorizedDelegates, deps.delegateScopes);
  const trustDomainKey = () => `spiffe://${node.trust.trustDomain}`;
  const views = new IdentityViews(agentChangeEvents(deps));

  /** DI-02: the caller's own selectors, attested once per call from its kernel peer credentials (as SPIRE does). */
  async function attestedDelegate(call: Call): Promise<DelegateCaller> {
    const caller = deps.callerOf(call);
    if (!caller) throw new RpcError(grpc.status.UNAVAILABLE, statusText.attestationFailed, 'no peer credentials for this connection');
    let selectors: ReadonlySet<string>;
    try {
      selectors = selectorSet(await attestCaller(caller, deps.hashCache, log));
    } catch (err) {
      throw new RpcError(grpc.status.UNAVAILABLE, statusText.attestationFailed, `caller pid ${caller.pid}: ${(err as Error).message}`);
    }
    return { key: selectorSetKey(selectors), entries: sync.entries.matcher(selectors) };
  }

  /** DI-02/DI-03: run on every call and again before every message a stream sends. */
  const authorize = (caller: DelegateCaller): Authorization => policy.authorize(caller.entries());

  function requireAuthorized(caller: DelegateCaller): void {
    const auth = authorize(caller);
    if (!auth.allowed) throw new RpcError(grpc.status.PERMISSION_DENIED, auth.details);
  }

  /** DI-04: named selectors are taken as attested; a pid is attested here, with the PID-reuse guard. */
  async function targetSelectors(request: { selectors: SubscribeToX509SvidsRequest['selectors']; pid: number }): Promise<TargetSelectors> {
    const target = parseTarget(request);
    if (target.kind === 'selectors') return { selectors: target.selectors, attestedByAgent: false };
    try {
      return { selectors: await attestPid(target.pid, { hashCache: deps.hashCache, logger: log }), attestedByAgent: true };
    } catch (err) {
      throw new RpcError(grpc.status.UNAVAILABLE, statusText.attestationFailed, `requested pid ${target.pid}: ${(err as Error).message}`);
    }
  }

  function entriesFor(caller: DelegateCaller, target: TargetSelectors): DelegatedEntries {
    const auth = authorize(caller);
    if (!auth.allowed) return auth;
    return delegatedEntries(target, auth.scopes, sync.entries);
  }

  /** The caller as the kernel named it, for the log. */
  const who = (call: Call) => {
    const caller = deps.callerOf(call);
    return caller ? { caller_pid: caller.pid, caller_uid: caller.uid } : { peer: call.getPeer() };
  };

  function fail(call: Call, err: unknown): Partial<grpc.StatusObject> {
    const status = toServiceError(err);
    const reason = err instanceof RpcError ? err.reason : (err as Error).message;
    log.warn({ ...who(call), code: grpc.status[status.code ?? grpc.status.UNKNOWN], details: status.details, ...(reason && { reason }) }, 'delegated identity call refused');
    return status;
  }

  /**
   * A stream whose first check (caller attested and authorized) happens before it starts. Its
   * state is computed once per change for every stream with the same `spec.key`; `admit` makes
   * it this stream's.
   */
  function delegateStream<Req, S, M>(start: (call: grpc.ServerWritableStream<Req, M>, caller: DelegateCaller) => Promise<{ spec: ViewSpec<S>; admit: (shared: S) => StreamState<M> }>): grpc.handleServerStreamingCall<Req, M> {
    return (call) => {
      (async () => {
        const caller = await attestedDelegate(call);
        requireAuthorized(caller);
        const { spec, admit } = await start(call, caller);
        streamState(call, views, spec, (shared) => {
          const state = admit(shared);
          if (state.kind === 'deny') log.warn({ ...who(call), details: state.details }, 'delegated identity stream ended with PermissionDenied');
          return state;
        }, log);
      })().catch((err: unknown) => call.emit('error', fail(call, err)));
    };
  }

  const SubscribeToX509SVIDs = delegateStream<SubscribeToX509SvidsRequest, DelegatedSvidsState, SubscribeToX509SvidsResponse>(async (call, caller) => {
    const target = await targetSelectors(call.request);
    log.info({ ...who(call), selectors: target.attestedByAgent ? `pid ${call.request.pid}` : target.selectors.map((s) => `${s.type}:${s.value}`) }, 'delegate subscribed to X509-SVIDs');
    const spec: ViewSpec<DelegatedSvidsState> = {
      key: `SubscribeToX509SVIDs ${caller.key} ${targetKey(target)}`,
      compute: (previous) => {
        const obtained = entriesFor(caller, target);
        if (!obtained.allowed) return { allowed: false, details: obtained.details };
        return { allowed: true, svids: delegatedSvids(obtained.entries, svids, clock.now().getTime(), previous?.allowed ? previous.svids : undefined) };
      },
      fingerprint: delegatedSvidsFingerprint,
    };
    const subscription = new X509SvidsSubscription();
    return { spec, admit: (state) => (state.allowed ? subscription.next(state.svids) : { kind: 'deny', details: state.details }) };
  });

  /** DI-06/DI-08: the full current map every time (not SPIRE's cumulative one); re-authorized on every entry change too. */
  function bundleStream<M>(rpc: string, message: (previous: StreamState<M> | undefined) => StreamState<M>) {
    return delegateStream<unknown, StreamState<M>, M>(async (_call, caller) => ({
      spec: {
        key: `${rpc} ${caller.key}`,
        compute: (previous) => {
          const auth = authorize(caller);
          return auth.allowed ? message(previous) : { kind: 'deny', details: auth.details };
        },
        fingerprint: stateFingerprint,
      },
      admit: (state) => state,
    }));
  }

  const SubscribeToX509Bundles = bundleStream<SubscribeToX509BundlesResponse>('SubscribeToX509Bundles', (previous) => {
    const bundle = node.bundle;
    if (!bundle) return { kind: 'wait' };
    return sendState(x509RootsFingerprint(bundle), previous, () => ({ ca_certificates: { [trustDomainKey()]: Buffer.from(concatDer(bundle.x509Authorities)) } }));
  });

  const SubscribeToJWTBundles = bundleStream<SubscribeToJwtBundlesResponse>('SubscribeToJWTBundles', (previous) => {
    const bundle = node.bundle;
    if (!bundle) return { kind: 'wait' };
    const jwks = jwtBundleJwks(bundle);
    return sendState(jwks, previous, () => ({ bundles: { [trustDomainKey()]: Buffer.from(jwks) } }));
  });

  const FetchJWTSVIDs: grpc.handleUnaryCall<FetchJwtSvidsRequest, FetchJwtSvidsResponse> = async (call, callback) => {
    try {
      const audience = call.request.audience.filter((a) => a !== '');
      if (audience.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, statusText.noAudience);
      const caller = await attestedDelegate(call);
      requireAuthorized(caller);
      const obtained = entriesFor(caller, await targetSelectors(call.request));
      if (!obtained.allowed) throw new RpcError(grpc.status.PERMISSION_DENIED, obtained.details);
      if (obtained.entries.length === 0) throw new RpcError(grpc.status.PERMISSION_DENIED, statusText.noIdentity);
      const out: ProtoJwtSvid[] = [];
      for (const entry of obtained.entries) {
        try {
          out.push(toJwtSvidMessage(entry, await deps.jwts.get(entry, audience)));
        } catch (err) {
          throw new RpcError(grpc.status.UNAVAILABLE, `could not fetch JWT-SVID: ${(err as { details?: string }).details ?? (err as Error).message}`);
        }
      }
      callback(null, { svids: out });
    } catch (err) {
      callback(fail(call, err) as grpc.ServiceError);
    }
  };

  return { SubscribeToX509SVIDs, SubscribeToX509Bundles, FetchJWTSVIDs, SubscribeToJWTBundles } as unknown as grpc.UntypedServiceImplementation;
}
