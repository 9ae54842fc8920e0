import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Store } from '../../store/store.js';
import type { AttemptOutcome, OutgoingDelivery, WebhookDelivery } from '../../store/webhook-deliveries.js';
import { signWebhook } from '../../webhooks/verify-webhook.js';
import { postWebhook, type SendResult } from './http-sender.js';
import { webhookPayload } from './payload.js';
import { retryDelayMs } from './retry-schedule.js';
import type { WebhookMetrics } from './webhook-metrics.js';
import type { WebhookSettings } from './webhook-settings.js';

export interface DispatcherDependencies {
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: WebhookMetrics;
  settings: WebhookSettings;
  /** Jitter source, for tests. */
  random?: () => number;
}

/** Sends at once, across all subscriptions. */
const concurrency = 8;
const batchSize = 64;
/** Look at the outbox at least this often, even when nothing woke us. */
const maxIdleMs = 60_000;
const userAgent = 'Sigil-Webhooks/1';

/**
 * Delivers the outbox: every pending delivery whose time has come is POSTed, signed; the result
 * is written to the delivery row at once. A delivery counts as sent only once its row says
 * "delivered", so after a crash anything unacknowledged is sent again (with the same webhook-id,
 * which receivers use to drop repeats) and nothing acknowledged is.
 */
export class WebhookDispatcher {
  private readonly inFlight = new Map<string, Promise<void>>();
  private readonly shutdown = new AbortController();
  private readonly random: () => number;
  private loop: Promise<void> | undefined;
  private rerun = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: DispatcherDependencies) {
    this.random = deps.random ?? Math.random;
  }

  get settings(): WebhookSettings {
    return this.deps.settings;
  }

  get metrics(): WebhookMetrics {
    return this.deps.metrics;
  }

  /** Run in the background: on every committed event, when a retry falls due, and every minute. */
  start(): void {
    this.unsubscribe = this.deps.store.events.subscribe(() => this.wake());
    this.wake();
  }

  /** Stop sending; sends under way are aborted and left pending (their outcome is unknown). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.unsubscribe?.();
    this.shutdown.abort();
    await this.loop;
    await Promise.allSettled([...this.inFlight.values()]);
  }

  /**
   * Attempt every delivery that is due now, until none is. Resolves when they, and any sends
   * already under way, have finished: what the background loop runs, and what tests call after
   * moving the clock. Returns how many deliveries were attempted.
   */
  async runDue(): Promise<number> {
    const attempted = new Set<string>();
    while (!this.stopped) {
      const ids = this.deps.store.webhooks.deliveries.dueIds(this.deps.clock.now().getTime(), batchSize, [...this.inFlight.keys(), ...attempted]);
      if (ids.length === 0) break;
      for (const id of ids) attempted.add(id);
      await runPool(ids, concurrency, (id) => this.attempt(id, 'when_due'));
    }
    await Promise.allSettled([...this.inFlight.values()]);
    return attempted.size;
  }

  /** One attempt now, whatever the schedule (the test ping, manual redelivery); joins a send of it already under way. */
  async deliverNow(id: string): Promise<WebhookDelivery> {
    await this.attempt(id, 'now');
    return this.deps.store.webhooks.deliveries.getOrThrow(id);
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.loop) {
      this.rerun = true;
      return;
    }
    this.loop = (async () => {
      do {
        this.rerun = false;
        try {
          await this.runDue();
        } catch (err) {
          this.deps.log.error({ err }, 'webhook dispatch failed');
        }
      } while (this.rerun && !this.stopped);
    })().finally(() => {
      this.loop = undefined;
      this.scheduleNextRun();
    });
  }

  private scheduleNextRun(): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const nextDueAt = this.deps.store.webhooks.deliveries.nextDueAt();
    const delay = nextDueAt === undefined ? maxIdleMs : Math.min(maxIdleMs, Math.max(0, nextDueAt - this.deps.clock.now().getTime()));
    this.timer = setTimeout(() => this.wake(), delay);
    this.timer.unref();
  }

  /** Everything up to the send is synchronous, so two callers can never both start sending the same delivery. */
  private attempt(id: string, mode: 'when_due' | 'now'): Promise<void> {
    const running = this.inFlight.get(id);
    if (running) return running;
    if (this.stopped) return Promise.resolve();
    const outgoing = this.deps.store.webhooks.deliveries.outgoing(id);
    if (!outgoing || outgoing.delivery.status !== 'pending') return Promise.resolve();
    if (mode === 'when_due' && (!outgoing.subscriptionEnabled || (outgoing.delivery.nextAttemptAt ?? Infinity) > this.deps.clock.now().getTime())) return Promise.resolve();
    const sending = this.send(outgoing)
      .catch((err: unknown) => this.deps.log.error({ err, delivery_id: id }, 'webhook delivery failed unexpectedly'))
      .finally(() => this.inFlight.delete(id));
    this.inFlight.set(id, sending);
    return sending;
  }

  private async send({ delivery, event, url, allowPrivate }: OutgoingDelivery): Promise<void> {
    const { store, clock, settings } = this.deps;
    const body = Buffer.from(JSON.stringify(webhookPayload(event)), 'utf8');
    const timestamp = Math.floor(clock.now().getTime() / 1000);
    const headers = {
      'content-type': 'application/json',
      'user-agent': userAgent,
      'webhook-id': delivery.id,
      'webhook-timestamp': String(timestamp),
      'webhook-signature': signWebhook(store.webhooks.subscriptions.secretOf(delivery.subscriptionId), delivery.id, timestamp, body),
    };
    const result = await postWebhook(url, headers, body, {
      timeoutMs: settings.timeoutMs,
      policy: { allowPrivate, allowPrivateDestinations: settings.allowPrivateDestinations },
      signal: this.shutdown.signal,
    });
    if (result.kind === 'aborted') return;
    // The subscription may have been deleted while we waited; its deliveries went with it.
    if (!store.webhooks.deliveries.get(delivery.id)) return;
    this.record(delivery, result, clock.now().getTime(), new URL(url).origin);
  }

  private record(delivery: WebhookDelivery, result: Exclude<SendResult, { kind: 'aborted' }>, at: number, origin: string): void {
    const { store, settings, metrics, log } = this.deps;
    const httpStatus = result.kind === 'answered' ? result.httpStatus : null;
    const acknowledged = httpStatus !== null && httpStatus >= 200 && httpStatus < 300;
    const error = acknowledged ? null : result.kind === 'failed' ? result.error : `HTTP ${result.httpStatus}${result.bodyExcerpt ? `: ${result.bodyExcerpt}` : ''}`;
    const attemptsMade = store.webhooks.deliveries.getOrThrow(delivery.id).attempts + 1;
    const outcome: AttemptOutcome = acknowledged ? 'delivered' : attemptsMade >= settings.maxAttempts ? 'dead' : 'retrying';
    const nextAttemptAt = outcome === 'retrying' ? at + retryDelayMs(attemptsMade, { baseMs: settings.backoffBaseMs, maxMs: settings.backoffMaxMs }, this.random) : null;
    store.webhooks.deliveries.recordAttempt(delivery.id, { at, httpStatus, error, outcome, nextAttemptAt });
    metrics.deliveries.inc({ outcome });
    const fields = { delivery_id: delivery.id, event_id: delivery.eventId, event_type: delivery.eventType, subscription_id: delivery.subscriptionId, destination: origin, attempts: attemptsMade };
    if (outcome === 'delivered') {
      // The receiver is back: what waits for it need not sit out its backoff.
      store.webhooks.deliveries.pullForward(delivery.subscriptionId, at);
      log.debug({ ...fields, http_status: httpStatus }, 'webhook delivered');
    } else if (outcome === 'dead') {
      log.warn({ ...fields, error }, 'webhook dead-lettered: no attempts left (redeliver it with sigil webhook redeliver)');
    } else {
      log.info({ ...fields, error, next_attempt_at: new Date(nextAttemptAt ?? at).toISOString() }, 'webhook delivery failed; will retry');
    }
  }
}

/** Run `work` over `items` with at most `limit` at once. */
async function runPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
