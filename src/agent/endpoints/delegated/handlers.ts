import * as grpc from '@grpc/grpc-js';
import { createHash } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import type { Clock } from '../../../common/clock.js';
import type { Logger } from '../../../common/logger.js';
import { concatDer } from '../../../pki/pem.js';
import { encodeJwtBundleJwks } from '../../../spiffe/bundle.js';
import type { ExecutableHashCache } from '../../attestation/executable-hash.js';
import type { JwtSvidCache } from '../../cache/jwt-svid-cache.js';
import type { SvidCache } from '../../cache/svid-cache.js';
import type { DelegateScopeConfig } from '../../config.js';
import type { AgentNode } from '../../node/agent-node.js';
import { selectorSet } from '../../sync/entry-cache.js';
import type { SyncClient } from '../../sync/sync-client.js';
import { attestCaller, type Caller } from '../caller.js';
import { streamState, type StreamState } from '../state-stream.js';
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
import { X509SvidsSubscription } from './x509-svids-state.js';

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

/** `spire.api.agent.delegatedidentity.v1.DelegatedIdentity` (spec §6, consumers §6.1). */
export function delegatedIdentityHandlers(deps: DelegatedIdentityDeps & { log: Logger; callerOf(call: { getPeer(): string }): Caller | undefined }): grpc.UntypedServiceImplementation {
  const { node, sync, svids, clock, log } = deps;
  const policy = new DelegatePolicy(deps.authorizedDelegates, deps.delegateScopes);
  const trustDomainKey = () => `spiffe://${node.trust.trustDomain}`;

  /** DI-02: the caller's own selectors, attested once per call from its kernel peer credentials (as SPIRE does). */
  async function callerSelectors(call: Call): Promise<ReadonlySet<string>> {
    const caller = deps.callerOf(call);
    if (!caller) throw new RpcError(grpc.status.UNAVAILABLE, statusText.attestationFailed, 'no peer credentials for this connection');
    try {
      return selectorSet(await attestCaller(caller, deps.hashCache, log));
    } catch (err) {
      throw new RpcError(grpc.status.UNAVAILABLE, statusText.attestationFailed, `caller pid ${caller.pid}: ${(err as Error).message}`);
    }
  }

  /** DI-02/DI-03: run on every call and again before every message a stream sends. */
  const authorize = (selectors: ReadonlySet<string>): Authorization => policy.authorize(sync.entries.matching(selectors));

  function requireAuthorized(selectors: ReadonlySet<string>): void {
    const auth = authorize(selectors);
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

  function entriesFor(caller: ReadonlySet<string>, target: TargetSelectors): DelegatedEntries {
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

  /** A stream whose first check (caller attested and authorized) happens before it starts. */
  function delegateStream<Req, M>(start: (call: grpc.ServerWritableStream<Req, M>, caller: ReadonlySet<string>) => Promise<() => StreamState<M>>, sources: readonly [EventEmitter, string][]): grpc.handleServerStreamingCall<Req, M> {
    return (call) => {
      (async () => {
        const caller = await callerSelectors(call);
        requireAuthorized(caller);
        const next = await start(call, caller);
        if (call.cancelled) return;
        streamState(
          call,
          () => {
            const state = next();
            if (state.kind === 'deny') log.warn({ ...who(call), details: state.details }, 'delegated identity stream ended with PermissionDenied');
            return state;
          },
          sources,
        );
      })().catch((err: unknown) => call.emit('error', fail(call, err)));
    };
  }

  const SubscribeToX509SVIDs = delegateStream<SubscribeToX509SvidsRequest, SubscribeToX509SvidsResponse>(
    async (call, caller) => {
      const target = await targetSelectors(call.request);
      const subscription = new X509SvidsSubscription(svids, () => clock.now().getTime());
      log.info({ ...who(call), selectors: target.attestedByAgent ? `pid ${call.request.pid}` : target.selectors.map((s) => `${s.type}:${s.value}`) }, 'delegate subscribed to X509-SVIDs');
      return () => {
        const obtained = entriesFor(caller, target);
        if (!obtained.allowed) return { kind: 'deny', details: obtained.details };
        return subscription.next(obtained.entries);
      };
    },
    [
      [svids, 'updated'],
      [sync, 'entries'],
    ],
  );

  /** DI-06/DI-08: the full current map every time (not SPIRE's cumulative one); re-authorized on every entry change too. */
  function bundleStream<M>(message: () => { fingerprint: string; message: M } | undefined) {
    return delegateStream<unknown, M>(
      async (_call, caller) => () => {
        const auth = authorize(caller);
        if (!auth.allowed) return { kind: 'deny', details: auth.details };
        const next = message();
        return next ? { kind: 'send', ...next } : { kind: 'wait' };
      },
      [
        [node, 'bundle'],
        [sync, 'entries'],
      ],
    );
  }

  const SubscribeToX509Bundles = bundleStream<SubscribeToX509BundlesResponse>(() => {
    if (!node.bundle) return undefined;
    const der = Buffer.from(concatDer(node.bundle.x509Authorities));
    return { fingerprint: createHash('sha256').update(der).digest('hex'), message: { ca_certificates: { [trustDomainKey()]: der } } };
  });

  const SubscribeToJWTBundles = bundleStream<SubscribeToJwtBundlesResponse>(() => {
    if (!node.bundle) return undefined;
    const jwks = encodeJwtBundleJwks(node.bundle.jwtAuthorities);
    return { fingerprint: jwks, message: { bundles: { [trustDomainKey()]: Buffer.from(jwks) } } };
  });

  const FetchJWTSVIDs: grpc.handleUnaryCall<FetchJwtSvidsRequest, FetchJwtSvidsResponse> = async (call, callback) => {
    try {
      const audience = call.request.audience.filter((a) => a !== '');
      if (audience.length === 0) throw new RpcError(grpc.status.INVALID_ARGUMENT, statusText.noAudience);
      const caller = await callerSelectors(call);
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
