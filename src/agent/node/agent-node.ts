import { X509Certificate } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type { Clock } from '../../common/clock.js';
import { crashPoint } from '../../common/crash-point.js';
import type { Logger } from '../../common/logger.js';
import { createCsr } from '../../pki/csr.js';
import { generateKeyPair } from '../../pki/keys.js';
import { pemDecodeAll, pemEncodeAll } from '../../pki/pem.js';
import { parseSpiffeBundle, type SpiffeBundle } from '../../spiffe/bundle.js';
import { emptyTrustState, type AgentTrustState } from '../sync/trust-state.js';
import type { AgentIdentity, AgentStateStore } from './agent-state.js';
import { ServerClient, notAfterOf, type ServerTrust } from './server-client.js';
import { grpcErrorText } from '../../common/grpc/status-details.js';

export interface AgentNodeOptions {
  trustDomain: string;
  serverAddress: string;
  joinToken?: string | undefined;
  trustBundlePath?: string | undefined;
  insecureBootstrap: boolean;
}

export class AttestationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AttestationError';
  }
}

/** Roots from a bootstrap bundle file: PEM certificates or a SPIFFE bundle (JWKS). */
export function readBootstrapRoots(path: string): string {
  const text = readFileSync(path, 'utf8');
  if (text.includes('-----BEGIN CERTIFICATE-----')) return pemEncodeAll('CERTIFICATE', pemDecodeAll(text).filter((b) => b.label === 'CERTIFICATE').map((b) => b.der));
  return pemEncodeAll('CERTIFICATE', parseSpiffeBundle(text).x509Authorities);
}

/**
 * The agent's own identity: node attestation with a join token, persistence, renewal at
 * half-life, re-attestation when it finds its SVID expired, and the server connection that goes
 * with the current SVID and bundle. Emits 'identity' and 'bundle' on change.
 */
export class AgentNode extends EventEmitter {
  identity: AgentIdentity | undefined;
  bundle: SpiffeBundle | undefined;
  bundleJson: string | undefined;
  trustState: AgentTrustState = emptyTrustState;
  private client: ServerClient | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly options: AgentNodeOptions,
    private readonly state: AgentStateStore,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {
    super();
    // One listener per endpoint service with open streams (identity views) and per socket: a few more than 10 is normal.
    this.setMaxListeners(0);
  }

  /** The roots that authenticate the server: the bundle it last sent, else the configured trust_bundle_path. */
  get trust(): ServerTrust {
    if (this.bundle) return { trustDomain: this.options.trustDomain, rootsPem: pemEncodeAll('CERTIFICATE', this.bundle.x509Authorities) };
    if (this.options.trustBundlePath) return { trustDomain: this.options.trustDomain, rootsPem: readBootstrapRoots(this.options.trustBundlePath) };
    return { trustDomain: this.options.trustDomain, rootsPem: undefined };
  }

  /** Load what is on disk; attest when there is nothing usable. */
  async start(): Promise<void> {
    for (const repair of this.state.repairs) this.log.warn({ repair }, 'tightened the permissions of the agent data_dir');
    const bundleJson = this.state.loadBundle();
    if (bundleJson) this.setBundle(bundleJson, false);
    const { identity: saved, notes } = await this.state.loadIdentity();
    for (const note of notes) this.log.warn({ note }, 'agent identity on disk');
    if (saved && saved.notAfter.getTime() > this.clock.now().getTime()) {
      this.identity = saved;
      this.log.info({ spiffeId: saved.spiffeId, notAfter: saved.notAfter.toISOString() }, 'loaded the agent SVID from disk; no attestation needed');
    } else {
      if (saved) this.log.warn({ spiffeId: saved.spiffeId, expiredAt: saved.notAfter.toISOString() }, 'the agent SVID on disk has expired; attesting again');
      await this.attest();
    }
    this.scheduleRenewal();
  }

  stop(): void {
    this.stopped = true;
    if (this.renewTimer) clearTimeout(this.renewTimer);
    this.client?.close();
    this.client = undefined;
  }

  private async attest(): Promise<void> {
    if (!this.options.joinToken) {
      throw new AttestationError('the agent has no valid SVID and no join token: create one with `sigil token generate` and pass it with --join-token');
    }
    const trust = this.bundle ? this.trust : this.bootstrapTrust();
    const keys = await generateKeyPair('ec-p256');
    const csr = await createCsr(keys);
    const client = ServerClient.forAttestation(this.options.serverAddress, trust);
    try {
      const res = await client.attest({ join_token: this.options.joinToken, csr: Buffer.from(csr) });
      const chain = res.svid_chain.map((b) => new Uint8Array(b));
      const identity = { agentId: res.agent_id, spiffeId: res.spiffe_id, keys, svidChainDer: chain, notAfter: notAfterOf(chain[0] as Uint8Array) };
      // The bundle first: an identity on disk must always have a bundle that authenticates the server.
      this.setBundle(res.bundle, true);
      crashPoint('attest:after-bundle-saved');
      await this.state.saveIdentity(identity);
      crashPoint('attest:after-identity-saved');
      this.identity = identity;
      this.log.info({ spiffeId: res.spiffe_id }, 'node attestation succeeded');
      this.resetClient();
      this.emit('identity', this.identity);
    } catch (err) {
      throw new AttestationError(`node attestation failed: ${grpcErrorText(err)}`);
    } finally {
      client.close();
    }
  }

  private bootstrapTrust(): ServerTrust {
    if (this.options.trustBundlePath) return { trustDomain: this.options.trustDomain, rootsPem: readBootstrapRoots(this.options.trustBundlePath) };
    if (this.options.insecureBootstrap) {
      this.log.warn('insecure_bootstrap: the server is not authenticated for node attestation');
      return { trustDomain: this.options.trustDomain };
    }
    throw new AttestationError('no trust bundle to authenticate the server: set trust_bundle_path (e.g. from `sigil bundle show`) or insecure_bootstrap');
  }

  /** Apply a bundle pushed by the server (or returned at attestation). */
  setBundle(json: string, persist = true): void {
    if (json === this.bundleJson) return;
    const bundle = parseSpiffeBundle(json);
    this.bundle = bundle;
    this.bundleJson = json;
    if (persist) this.state.saveBundle(json);
    this.resetClient();
    this.emit('bundle', bundle);
  }

  signedByTainted(state: AgentTrustState): boolean {
    const leafDer = this.identity?.svidChainDer[0];
    if (!leafDer) return false;
    const leaf = new X509Certificate(leafDer);
    return state.taintedX509AuthoritiesDer.some((d) => {
      const ca = new X509Certificate(d);
      return leaf.checkIssued(ca) && leaf.verify(ca.publicKey);
    });
  }

  /** Apply tainted authorities and CRLs pushed by the server; emits 'trust'. */
  setTrustState(state: AgentTrustState): void {
    this.trustState = state;
    this.emit('trust', state);
  }

  async serverClient(): Promise<ServerClient> {
    if (!this.identity) throw new AttestationError('not attested');
    if (this.identity.notAfter.getTime() <= this.clock.now().getTime()) await this.recoverExpired();
    this.client ??= await ServerClient.withIdentity(this.options.serverAddress, this.trust, this.identity as AgentIdentity);
    return this.client;
  }

  private resetClient(): void {
    this.client?.close();
    this.client = undefined;
  }

  private async recoverExpired(): Promise<void> {
    this.log.warn({ expiredAt: this.identity?.notAfter.toISOString() }, 'the agent SVID expired (downtime?); attesting again');
    await this.attest();
  }

  private scheduleRenewal(): void {
    if (this.stopped || !this.identity) return;
    const now = this.clock.now().getTime();
    const notAfter = this.identity.notAfter.getTime();
    const leaf = this.identity.svidChainDer[0];
    const notBefore = leaf ? new Date(new X509Certificate(leaf).validFrom).getTime() : now;
    const half = notBefore + (notAfter - notBefore) / 2;
    const delay = Math.max(1000, half - now);
    this.renewTimer = setTimeout(() => {
      this.renew()
        .catch((err: unknown) => this.log.error({ err: (err as Error).message }, 'agent SVID renewal failed; retrying'))
        .finally(() => this.scheduleRenewal());
    }, Math.min(delay, 2 ** 31 - 1));
    this.renewTimer.unref();
  }

  /** A new key and SVID before the current one expires. */
  async renew(): Promise<void> {
    if (!this.identity) return;
    const client = await this.serverClient();
    const keys = await generateKeyPair('ec-p256');
    const csr = await createCsr(keys);
    const res = await client.renew({ csr: Buffer.from(csr) });
    crashPoint('renew:before-save');
    const chain = res.svid_chain.map((b) => new Uint8Array(b));
    const renewed = { ...this.identity, keys, svidChainDer: chain, notAfter: notAfterOf(chain[0] as Uint8Array) };
    await this.state.saveIdentity(renewed);
    crashPoint('renew:after-save');
    this.identity = renewed;
    this.resetClient();
    this.log.info({ notAfter: this.identity.notAfter.toISOString() }, 'renewed the agent SVID');
    this.emit('identity', this.identity);
  }

  /** Banned: forget everything; an evicted agent keeps nothing either and needs a new token. */
  forgetIdentity(): void {
    this.state.deleteIdentity();
    this.identity = undefined;
    this.resetClient();
  }
}
