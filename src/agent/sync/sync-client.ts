import type * as grpc from '@grpc/grpc-js';
import { EventEmitter } from 'node:events';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { SyncMessage } from '../../common/grpc/agent-api-types.js';
import type { AgentNode } from '../node/agent-node.js';
import { EntryCache, entryFromProto } from './entry-cache.js';
import { applyTrustMessage } from './trust-state.js';
import { withoutEmptyResolutionNote } from '../../common/grpc/status-details.js';

export interface SyncClientOptions {
  /** CRLs handed to workloads in the Workload API `crl` fields, at most this many bytes together. */
  workloadCrlMaxBytes: number;
}

export const reconnectBaseMs = 200;
export const reconnectMaxMs = 5_000;
/** The server sends a heartbeat every 15 s; three missed ones mean the stream is dead. */
export const silenceLimitMs = 45_000;

/**
 * Holds the push stream from the server: applies entry and bundle changes, remembers the last
 * event id, and reconnects with backoff (resuming from what it holds) whenever the stream ends.
 * Emits 'entries' (changed ids), 'synced', and 'status' ('banned' | 'evicted').
 */
export class SyncClient extends EventEmitter {
  readonly entries = new EntryCache();
  lastEventId = 0;
  synced = false;
  private stream: grpc.ClientReadableStream<SyncMessage> | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private silenceTimer: NodeJS.Timeout | undefined;
  private attempt = 0;
  private stopped = false;

  constructor(
    private readonly node: AgentNode,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: SyncClientOptions,
  ) {
    super();
    // One listener per endpoint service with open streams (identity views) and per socket: a few more than 10 is normal.
    this.setMaxListeners(0);
  }

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.stream?.cancel();
  }

  /** Drop the current stream and connect again at once (after the agent SVID or bundle changed). */
  reconnect(): void {
    this.stream?.cancel();
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    let stream: grpc.ClientReadableStream<SyncMessage>;
    try {
      const client = await this.node.serverClient();
      stream = client.sync({ after_event_id: this.lastEventId, known_entries: this.entries.revisions(), bundle_sequence: this.node.bundle?.sequence?.toString() ?? '' });
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'cannot open the sync stream');
      this.scheduleReconnect();
      return;
    }
    this.stream = stream;
    this.armSilenceTimer();
    stream.on('data', (message: SyncMessage) => {
      this.attempt = 0;
      this.armSilenceTimer();
      this.apply(message);
    });
    let ended = false;
    const onEnd = (err?: grpc.ServiceError) => {
      if (ended) return;
      ended = true;
      if (this.stream === stream) this.stream = undefined;
      if (err?.code === 7 /* PERMISSION_DENIED */ && /banned|not attested/.test(err.details)) {
        this.stopped = true;
        this.emit('status', /banned/.test(err.details) ? 'banned' : 'evicted');
        return;
      }
      if (err && err.code !== 1 /* CANCELLED */) this.log.warn({ code: err.code, details: withoutEmptyResolutionNote(err.details) }, 'sync stream ended; reconnecting');
      this.scheduleReconnect();
    };
    stream.on('error', (err: grpc.ServiceError) => onEnd(err));
    stream.on('end', () => onEnd());
  }

  private armSilenceTimer(): void {
    if (this.silenceTimer) clearTimeout(this.silenceTimer);
    this.silenceTimer = setTimeout(() => {
      this.log.warn('no message from the server for 45 s; reconnecting');
      this.stream?.cancel();
    }, silenceLimitMs);
    this.silenceTimer.unref();
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = Math.min(reconnectMaxMs, reconnectBaseMs * 2 ** this.attempt) * (0.5 + Math.random() / 2);
    this.attempt++;
    this.retryTimer = setTimeout(() => void this.connect(), delay);
  }

  private apply(message: SyncMessage): void {
    if (message.entries) {
      const { changed } = this.entries.apply(message.entries.upserted.map(entryFromProto), message.entries.removed);
      if (!this.synced) {
        this.synced = true;
        this.log.info({ entries: this.entries.size }, 'synced with the server');
        this.emit('synced');
      }
      if (changed.length) this.emit('entries', changed);
    }
    if (message.bundle) this.node.setBundle(message.bundle);
    if (message.trust) {
      const previous = this.node.trustState;
      const state = applyTrustMessage(message.trust, previous, this.options.workloadCrlMaxBytes, this.clock.now().getTime());
      for (const problem of state.problems) this.log.error({ problem }, 'cannot apply a revocation list: keeping every serial revoked so far and replacing the SVIDs held before it');
      if (state.withheldCrls > 0 && (state.withheldCrls !== previous.withheldCrls || state.crlsFingerprint !== previous.crlsFingerprint)) {
        this.log.warn({ withheld: state.withheldCrls, workload_crl_max_bytes: this.options.workloadCrlMaxBytes }, 'CRLs over workload_crl_max_bytes are not sent to workloads (revoked SVIDs are still dropped here; peers can fetch GET /v1/crl)');
      }
      this.node.setTrustState(state);
    }
    if (message.status && message.status.state !== 'active') {
      this.stopped = true;
      this.emit('status', message.status.state);
    }
    this.lastEventId = Math.max(this.lastEventId, Number(message.event_id));
  }
}
