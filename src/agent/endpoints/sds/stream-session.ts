import { randomBytes } from 'node:crypto';
import type { Logger } from '../../../common/logger.js';
import type { DiscoveryRequest, DiscoveryResponse, Secret } from './envoy-messages.js';

/** The secrets for a request, or 'wait' when they are not ready yet (the response is deferred). Throws SdsError. */
export type SecretsFor = (request: DiscoveryRequest) => Secret[] | 'wait';

/** SPIRE's nonce: 4 random bytes, hex (SDS-11). */
export const randomNonce = (): string => randomBytes(4).toString('hex');

/** SPIRE's subListChanged: a different length, or a new name not in the old list. */
function namesChanged(before: readonly string[], after: readonly string[]): boolean {
  if (before.length !== after.length) return true;
  const known = new Set(before);
  return after.some((name) => !known.has(name));
}

/**
 * The state-of-the-world xDS state of one StreamSecrets stream (SDS-11), as SPIRE's handler runs
 * it. `version_info` counts the caller's updates from "0"; every response has a fresh nonce.
 * A request whose nonce is not the last one sent is stale and ignored; one with the right nonce
 * but another version is a NACK, logged and otherwise processed like any request. A response is
 * sent for a request whose names differ from the previous request's (or the first one), and for
 * every update once a request was seen, always with the last request's names.
 */
export class SecretStreamSession {
  private updates = 0;
  private lastNonce = '';
  private lastRequest: DiscoveryRequest | undefined;

  constructor(
    private readonly secretsFor: SecretsFor,
    private readonly log: Logger,
    private readonly nextNonce: () => string = randomNonce,
  ) {}

  get version(): string {
    return String(this.updates);
  }

  /** What the caller may be served changed. */
  onUpdate(): DiscoveryResponse | undefined {
    this.updates++;
    return this.lastRequest ? this.respond(this.lastRequest) : undefined;
  }

  onRequest(request: DiscoveryRequest): DiscoveryResponse | undefined {
    const names = request.resource_names;
    if (request.error_detail) this.log.error({ resource_names: names, error: request.error_detail.message }, 'Envoy reported errors applying secrets');
    if (this.lastNonce !== '') {
      if (request.response_nonce !== this.lastNonce) {
        this.log.warn({ nonce: request.response_nonce, expected: this.lastNonce }, 'SDS request with a stale nonce; ignored');
        return undefined;
      }
      if (request.version_info !== this.version) this.log.warn({ version_info: request.version_info, expected: this.version }, 'Envoy rejected the last SDS version (NACK)');
    }
    const changed = !this.lastRequest || namesChanged(this.lastRequest.resource_names, names);
    // Envoy may send its node only on the first request: keep it for the validator choice.
    this.lastRequest = { ...request, node: request.node ?? this.lastRequest?.node ?? null };
    if (!changed || this.updates === 0) return undefined;
    return this.respond(this.lastRequest);
  }

  private respond(request: DiscoveryRequest): DiscoveryResponse | undefined {
    const resources = this.secretsFor(request);
    if (resources === 'wait') return undefined;
    const response: DiscoveryResponse = { version_info: this.version, resources, type_url: request.type_url, nonce: this.nextNonce() };
    this.lastNonce = response.nonce;
    this.log.debug({ version_info: response.version_info, nonce: response.nonce, count: resources.length }, 'sending SDS response');
    return response;
  }
}
