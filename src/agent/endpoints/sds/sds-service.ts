import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../../common/clock.js';
import type { Logger } from '../../../common/logger.js';
import { secretDiscoveryService } from '../../../common/grpc/protos.js';
import type { ExecutableHashCache } from '../../attestation/executable-hash.js';
import type { SvidCache } from '../../cache/svid-cache.js';
import type { AgentNode } from '../../node/agent-node.js';
import type { SyncClient } from '../../sync/sync-client.js';
import { attestedEntries, type Caller, type CallerEntries } from '../caller.js';
import { agentChangeEvents } from '../views/agent-changes.js';
import { IdentityViews, type ViewSpec } from '../views/identity-views.js';
import { callerSecrets, type CallerSecrets } from './caller-secrets.js';
import type { DiscoveryRequest, DiscoveryResponse } from './envoy-messages.js';
import { notAuthorizedError, SdsError, statusOf } from './sds-error.js';
import { runSecretStream } from './secret-stream.js';
import { defaultSdsSettings, type SdsSettings } from './sds-settings.js';
import { buildSecrets, type SecretSelection, type TrustDomainBundle } from './secret-builder.js';
import { useSpiffeValidator } from './validator-choice.js';

export interface SdsDeps {
  node: AgentNode;
  sync: SyncClient;
  svids: SvidCache;
  clock: Clock;
  log: Logger;
  hashCache: ExecutableHashCache;
  callerOf(call: { getPeer(): string }): Caller | undefined;
  /** The agent's `sds:` config section; SPIRE's defaults when absent. */
  sds?: SdsSettings;
  /** Bundles of federated trust domains (none until Sigil federates); read again on every change event. */
  federatedBundles?: () => readonly TrustDomainBundle[];
}

export const sdsServiceDefinition = (): grpc.ServiceDefinition => secretDiscoveryService().service;

/**
 * Envoy SDS v3 (envoy.service.secret.v3.SecretDiscoveryService) as SPIRE's agent serves it:
 * callers attested by kernel peer credentials like Workload API callers, but without the
 * `workload.spiffe.io` header (spec §8.2), which Envoy does not send.
 */
export function sdsHandlers(deps: SdsDeps): grpc.UntypedServiceImplementation {
  const { node, sync, svids, clock, log } = deps;
  const settings = deps.sds ?? defaultSdsSettings;
  if (settings.default_bundle_name === settings.default_all_bundles_name) {
    log.warn({ name: settings.default_bundle_name }, 'sds.default_all_bundles_name equals sds.default_bundle_name and is ignored: that name serves the own trust domain only');
  }
  const views = new IdentityViews(agentChangeEvents(deps));

  /** Selectors come from the kernel-attested caller, never from the request (SDS-10 on failure). */
  async function entriesOfCaller(call: { getPeer(): string }): Promise<CallerEntries> {
    try {
      return await attestedEntries(deps.callerOf(call), sync.entries, deps.hashCache, log);
    } catch {
      throw new SdsError(grpc.status.UNAVAILABLE, 'workload attestation failed');
    }
  }

  const stateOf = (caller: CallerEntries): CallerSecrets =>
    callerSecrets({ entries: caller.entries(), svids, bundle: node.bundle, trustDomain: node.trust.trustDomain, federatedBundles: deps.federatedBundles?.() ?? [], now: clock.now().getTime() });

  const select = (request: DiscoveryRequest, state: CallerSecrets): SecretSelection =>
    buildSecrets(request.resource_names, state.sources, { names: settings, spiffeValidator: useSpiffeValidator(request.node, settings.disable_spiffe_cert_validation) });

  function StreamSecrets(call: grpc.ServerDuplexStream<DiscoveryRequest, DiscoveryResponse>): void {
    let stop: (() => void) | undefined;
    let cancelled = false;
    call.on('cancelled', () => {
      cancelled = true;
      stop?.();
    });
    // Requests wait in the stream's buffer until the caller is attested: no 'data' listener yet.
    entriesOfCaller(call)
      .then((caller) => {
        if (cancelled) return;
        // Computed once per change for every stream of a caller with these selectors.
        const spec: ViewSpec<CallerSecrets> = { key: `StreamSecrets ${caller.key}`, compute: () => stateOf(caller), fingerprint: (s) => `${s.servable} ${s.fingerprint}` };
        stop = runSecretStream(call, { watch: (listener) => views.watch(spec, listener), select, log });
      })
      .catch((err: unknown) => call.emit('error', statusOf(err)));
  }

  /** SDS-12: one response, no version, no nonce. */
  const FetchSecrets: grpc.handleUnaryCall<DiscoveryRequest, DiscoveryResponse> = async (call, callback) => {
    try {
      const selection = select(call.request, stateOf(await entriesOfCaller(call)));
      if (selection.unserved.length > 0) throw notAuthorizedError(selection.unserved);
      callback(null, { version_info: '', resources: selection.secrets, type_url: call.request.type_url, nonce: '' });
    } catch (err) {
      callback(statusOf(err) as grpc.ServiceError);
    }
  };

  const DeltaSecrets = (call: grpc.ServerDuplexStream<unknown, unknown>) => {
    call.emit('error', { code: grpc.status.UNIMPLEMENTED, details: 'Method is not implemented', metadata: new grpc.Metadata() });
  };

  return { StreamSecrets, FetchSecrets, DeltaSecrets } as unknown as grpc.UntypedServiceImplementation;
}
