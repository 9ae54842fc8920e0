import * as grpc from '@grpc/grpc-js';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { AgentState, SyncMessage, SyncRequest } from '../../common/grpc/agent-api-types.js';
import type { AgentRecord } from '../../store/agents.js';
import type { Entry } from '../../store/entries.js';
import type { EventRecord } from '../../store/events.js';
import type { Store } from '../../store/store.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { AgentAuthError } from './agent-auth.js';
import { diffEntries, diffEntriesWithin, entryToProto, type EntryChangeSet } from './entry-message.js';
import type { TrustSnapshot } from './trust-state.js';

export const heartbeatIntervalMs = 15_000;

const eventsPerRead = 10_000;

/**
 * Above this many entries to check for one burst of entry events, the stream recomputes the
 * agent's whole authorized set instead (one query whose cost follows the set, not the burst).
 */
export const maxIncrementalCandidates = 1000;

/** Entry events whose subject is the id of the one entry they change; others trigger a full recompute. */
const singleEntryEvents = new Set(['entry.created', 'entry.updated', 'entry.deleted']);

/** What the stream remembers of an entry the agent holds: enough to diff it and to find its nested entries. */
interface HeldEntry {
  revision: number;
  spiffeId: string;
}

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
 * revision, bundle sequence) and sends only differences. At start it computes the agent's whole
 * authorized set; after that, a burst of entry events is checked for the changed entries and the
 * entries nested under them only, so its cost follows the change, not the agent's set. A
 * reconnecting agent says what it holds, so a resume costs a diff, not a full re-sync.
 */
export class AgentSyncStream {
  /** What the agent said it holds when it connected (id -> revision), until the first full push replaces it with `held`. */
  private claimed: Map<string, { revision: number }> | undefined;
  private held = new Map<string, HeldEntry>();
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
    this.claimed = new Map(call.request.known_entries.map((e) => [e.id, { revision: Number(e.revision) }]));
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
    this.deps.log.debug({ agentId: this.agent.id, known: this.claimed?.size ?? 0 }, 'agent sync stream opened');
    this.lastEventId = this.deps.store.events.lastId();
    this.deps.store.agents.touch(this.agent.id, this.deps.clock.now().getTime());
    this.pushAllEntries(true);
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
    const events = this.deps.store.events.listAfter(this.lastEventId, eventsPerRead);
    if (events.length === 0) return;
    this.lastEventId = events[events.length - 1]?.id ?? this.lastEventId;
    const mine = events.filter((e) => e.subject === this.agent.id && (e.type === 'agent.banned' || e.type === 'agent.evicted'));
    if (mine.length) {
      this.endWithStatus(mine[mine.length - 1]?.type === 'agent.banned' ? 'banned' : 'evicted');
      return;
    }
    const entryEvents = events.filter((e) => e.type.startsWith('entry.'));
    if (entryEvents.length) this.pushEntryChanges(entryEvents, events.length === eventsPerRead);
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

  /** False when the agent may no longer hold anything (the stream has then been ended). */
  private stillAuthenticated(): boolean {
    try {
      this.deps.authenticate();
      return true;
    } catch (err) {
      if (!(err instanceof AgentAuthError)) throw err;
      if (err.reason === 'banned' || err.reason === 'evicted') {
        this.endWithStatus(err.reason);
      } else {
        // e.g. the SVID this stream was opened with has expired: the agent reconnects with its new one.
        this.stop();
        this.call.emit('error', { code: err.code, details: err.message, metadata: new grpc.Metadata() });
      }
      return false;
    }
  }

  /** Recompute the agent's whole authorized set and send what differs (`always`: even when nothing does). */
  private pushAllEntries(always: boolean): void {
    if (!this.stillAuthenticated()) return;
    const current = this.deps.store.entries.authorizedFor(this.agent.spiffeId);
    const diff = diffEntries(this.claimed ?? this.held, current);
    this.claimed = undefined;
    this.held = new Map(current.map((e) => [e.id, heldEntry(e)]));
    if (always || hasChanges(diff)) this.sendEntryChanges(diff);
  }

  /**
   * After a burst of entry events: check only the entries they name and those nested under them.
   * `truncated`: more events wait beyond this read; a full recompute covers their changes now.
   */
  private pushEntryChanges(events: readonly EventRecord[], truncated: boolean): void {
    if (truncated || events.some((e) => !singleEntryEvents.has(e.type))) return this.pushAllEntries(false);
    const changedIds = new Set(events.map((e) => e.subject));
    if (changedIds.size > maxIncrementalCandidates) return this.pushAllEntries(false);
    if (!this.stillAuthenticated()) return;
    const changed = this.deps.store.entries.authorizedAmong(this.agent.spiffeId, [...changedIds]);
    const candidates = new Set([...changedIds, ...this.nestedUnder(changedIds, changed)]);
    if (candidates.size > maxIncrementalCandidates) return this.pushAllEntries(false);
    const nestedIds = [...candidates].filter((id) => !changedIds.has(id));
    const nested = this.deps.store.entries.authorizedAmong(this.agent.spiffeId, nestedIds);
    const diff = diffEntriesWithin(this.held, [...changed, ...nested], candidates);
    for (const e of diff.upserted) this.held.set(e.id, heldEntry(e));
    for (const id of diff.removed) this.held.delete(id);
    if (hasChanges(diff)) this.sendEntryChanges(diff);
  }

  /**
   * Entries whose authorization may have changed with the changed entries: those nested under the
   * SPIFFE ID a changed entry had when the agent got it (it may be gone, renamed or moved away)
   * and under the one each authorized changed entry has now. Other entries keep their status: a
   * change can only reach them through one of these. At most maxIncrementalCandidates + 1.
   */
  private nestedUnder(changedIds: ReadonlySet<string>, authorizedChanged: readonly Entry[]): string[] {
    const spiffeIds = new Set(authorizedChanged.map((e) => e.spiffeId));
    for (const id of changedIds) {
      const held = this.held.get(id);
      if (held) spiffeIds.add(held.spiffeId);
    }
    return this.deps.store.entries.descendantIds([...spiffeIds], maxIncrementalCandidates + 1);
  }

  private sendEntryChanges(diff: EntryChangeSet): void {
    this.send({ event_id: this.lastEventId, entries: { upserted: diff.upserted.map(entryToProto), removed: diff.removed } });
  }

  private pushBundle(): void {
    const sequence = this.deps.ca.bundleSequence().toString();
    if (sequence === this.bundleSequence) return;
    this.bundleSequence = sequence;
    this.send({ event_id: this.lastEventId, bundle: this.deps.bundleJson() });
  }
}

function heldEntry(e: Entry): HeldEntry {
  return { revision: e.revision, spiffeId: e.spiffeId };
}

function hasChanges(diff: EntryChangeSet): boolean {
  return diff.upserted.length > 0 || diff.removed.length > 0;
}
