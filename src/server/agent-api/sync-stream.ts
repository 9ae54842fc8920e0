import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { AgentState, SyncMessage, SyncRequest } from '../../common/grpc/agent-api-types.js';
import type { AgentRecord } from '../../store/agents.js';
import type { Store } from '../../store/store.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { AgentAuthError } from './agent-auth.js';
import { diffEntries, entryToProto } from './entry-message.js';
import type { TrustSnapshot } from './trust-state.js';

export const heartbeatIntervalMs = 15_000;

interface SyncDeps {
  store: Store;
  ca: CertificateAuthority;
  clock: Clock;
  log: Logger;
  bundleJson(): string;
  authenticate(): AgentRecord;
  trustState(): TrustSnapshot;
}

const trustEvents = new Set(['authority.tainted', 'authority.revoked', 'crl.published', 'svid.revoked']);

/**
 * One agent's push stream (DESIGN.md "one spine"). It mirrors what the agent holds (entry id ->
 * revision, bundle sequence); on every burst of new events it recomputes the agent's authorized
 * entries and sends only the difference. A reconnecting agent says what it holds, so a resume
 * costs a diff, not a full re-sync.
 */
export class AgentSyncStream {
  private readonly known = new Map<string, number>();
  private bundleSequence: string;
  private lastEventId = 0;
  private lastTrust = '';
  private unsubscribe: (() => void) | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private ended = false;

  constructor(
    private readonly call: grpc.ServerWritableStream<SyncRequest, SyncMessage>,
    private readonly agent: AgentRecord,
    private readonly deps: SyncDeps,
  ) {
    for (const e of call.request.known_entries) this.known.set(e.id, Number(e.revision));
    this.bundleSequence = call.request.bundle_sequence;
  }

  start(): void {
    this.call.on('cancelled', () => this.stop());
    this.call.on('close', () => this.stop());
    this.call.on('error', () => this.stop());
    this.unsubscribe = this.deps.store.events.subscribe(() => this.onEvents());
    this.heartbeat = setInterval(() => {
      // A heartbeat on an open stream is what "seen" means for stale-agent alerts.
      this.deps.store.agents.touch(this.agent.id, this.deps.clock.now().getTime());
      this.send({ event_id: this.lastEventId, heartbeat: true });
    }, heartbeatIntervalMs);
    this.heartbeat.unref();
    this.deps.log.debug({ agentId: this.agent.id, known: this.known.size }, 'agent sync stream opened');
    this.lastEventId = this.deps.store.events.lastId();
    this.deps.store.agents.touch(this.agent.id, this.deps.clock.now().getTime());
    this.pushEntries(true);
    this.pushBundle();
    this.pushTrust();
  }

  private stop(): void {
    this.ended = true;
    this.unsubscribe?.();
    if (this.heartbeat) clearInterval(this.heartbeat);
  }

  private send(message: SyncMessage): void {
    if (!this.ended) this.call.write(message);
  }

  private onEvents(): void {
    if (this.ended) return;
    const events = this.deps.store.events.listAfter(this.lastEventId, 10_000);
    if (events.length === 0) return;
    this.lastEventId = events[events.length - 1]?.id ?? this.lastEventId;
    const mine = events.filter((e) => e.subject === this.agent.id && (e.type === 'agent.banned' || e.type === 'agent.evicted'));
    if (mine.length) {
      this.endWithStatus(mine[mine.length - 1]?.type === 'agent.banned' ? 'banned' : 'evicted');
      return;
    }
    if (events.some((e) => e.type.startsWith('entry.'))) this.pushEntries(false);
    if (events.some((e) => e.type.startsWith('authority.'))) this.pushBundle();
    if (events.some((e) => trustEvents.has(e.type))) this.pushTrust();
  }

  /** Tainted authorities and CRLs, sent at start and whenever they change. */
  private pushTrust(): void {
    const { message, fingerprint } = this.deps.trustState();
    if (fingerprint === this.lastTrust) return;
    this.lastTrust = fingerprint;
    this.send({ event_id: this.lastEventId, trust: message });
  }

  private endWithStatus(state: AgentState): void {
    this.send({ event_id: this.lastEventId, status: { state } });
    this.stop();
    this.call.end();
    this.deps.log.info({ agentId: this.agent.id, state }, 'agent sync stream ended');
  }

  private pushEntries(always: boolean): void {
    try {
      this.deps.authenticate();
    } catch (err) {
      if (!(err instanceof AgentAuthError)) throw err;
      if (err.reason === 'banned' || err.reason === 'evicted') {
        this.endWithStatus(err.reason);
      } else {
        // e.g. the SVID this stream was opened with has expired: the agent reconnects with its new one.
        this.stop();
        this.call.emit('error', { code: err.code, details: err.message, metadata: new grpc.Metadata() });
      }
      return;
    }
    const current = this.deps.store.entries.authorizedFor(this.agent.spiffeId);
    const diff = diffEntries(this.known, current);
    if (!always && diff.upserted.length === 0 && diff.removed.length === 0) return;
    for (const e of diff.upserted) this.known.set(e.id, e.revision);
    for (const id of diff.removed) this.known.delete(id);
    this.send({ event_id: this.lastEventId, entries: { upserted: diff.upserted.map(entryToProto), removed: diff.removed } });
  }

  private pushBundle(): void {
    const sequence = this.deps.ca.bundleSequence().toString();
    if (sequence === this.bundleSequence) return;
    this.bundleSequence = sequence;
    this.send({ event_id: this.lastEventId, bundle: this.deps.bundleJson() });
  }
}
