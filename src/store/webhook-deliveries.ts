import { notFound } from '../common/errors.js';
import type { Db } from './database.js';
import type { EventRecord } from './events.js';
import { decodePageToken, toPage, type Page, type PageRequest } from './pagination.js';

export type DeliveryStatus = 'pending' | 'delivered' | 'dead';
export type AttemptOutcome = 'delivered' | 'retrying' | 'dead';

export interface WebhookDelivery {
  /** Also the webhook-id header: the same on every attempt, so receivers can drop repeats. */
  id: string;
  eventId: number;
  eventType: string;
  subscriptionId: string;
  status: DeliveryStatus;
  attempts: number;
  nextAttemptAt: number | null;
  lastAttemptAt: number | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: number | null;
  createdAt: number;
}

export interface WebhookAttempt {
  id: number;
  deliveryId: string;
  attemptedAt: number;
  httpStatus: number | null;
  error: string | null;
  outcome: AttemptOutcome;
}

export interface AttemptResult {
  at: number;
  httpStatus: number | null;
  error: string | null;
  outcome: AttemptOutcome;
  /** When to try again; only for outcome "retrying". */
  nextAttemptAt: number | null;
}

/** What sending a delivery needs: the row, its event and where it goes. */
export interface OutgoingDelivery {
  delivery: WebhookDelivery;
  event: EventRecord;
  url: string;
  allowPrivate: boolean;
  subscriptionEnabled: boolean;
}

interface DeliveryRow {
  rowid: number;
  id: string;
  event_id: number;
  event_type: string;
  subscription_id: string;
  status: DeliveryStatus;
  attempts: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_status: number | null;
  last_error: string | null;
  delivered_at: number | null;
  created_at: number;
}

interface AttemptRow {
  id: number;
  delivery_id: string;
  attempted_at: number;
  http_status: number | null;
  error: string | null;
  outcome: AttemptOutcome;
}

const toDelivery = (r: DeliveryRow): WebhookDelivery => ({
  id: r.id,
  eventId: r.event_id,
  eventType: r.event_type,
  subscriptionId: r.subscription_id,
  status: r.status,
  attempts: r.attempts,
  nextAttemptAt: r.next_attempt_at,
  lastAttemptAt: r.last_attempt_at,
  lastStatus: r.last_status,
  lastError: r.last_error,
  deliveredAt: r.delivered_at,
  createdAt: r.created_at,
});

const toAttempt = (r: AttemptRow): WebhookAttempt => ({ id: r.id, deliveryId: r.delivery_id, attemptedAt: r.attempted_at, httpStatus: r.http_status, error: r.error, outcome: r.outcome });

const selectDelivery = 'SELECT d.rowid AS rowid, d.*, e.type AS event_type FROM webhook_deliveries d JOIN events e ON e.id = d.event_id';

/** Delivery rows (the outbox) and their attempt history. Rows are written by WebhookOutbox. */
export class WebhookDeliveryStore {
  constructor(private readonly db: Db) {}

  get(id: string): WebhookDelivery | undefined {
    const row = this.db.prepare(`${selectDelivery} WHERE d.id = ?`).get(id) as DeliveryRow | undefined;
    return row ? toDelivery(row) : undefined;
  }

  getOrThrow(id: string): WebhookDelivery {
    const delivery = this.get(id);
    if (!delivery) throw notFound(`webhook delivery ${id} not found`);
    return delivery;
  }

  /** A subscription's deliveries, newest first. */
  list(subscriptionId: string, status: DeliveryStatus | undefined, page: PageRequest): Page<WebhookDelivery> {
    const before = decodePageToken(page.pageToken);
    const rows = this.db
      .prepare(`${selectDelivery} WHERE d.subscription_id = @subscriptionId AND (@status IS NULL OR d.status = @status) AND (@before = 0 OR d.rowid < @before) ORDER BY d.rowid DESC LIMIT @limit`)
      .all({ subscriptionId, status: status ?? null, before, limit: page.pageSize + 1 }) as DeliveryRow[];
    return toPage(rows, page.pageSize, toDelivery);
  }

  attempts(deliveryId: string): WebhookAttempt[] {
    return (this.db.prepare('SELECT * FROM webhook_delivery_attempts WHERE delivery_id = ? ORDER BY id').all(deliveryId) as AttemptRow[]).map(toAttempt);
  }

  /** Ids of pending deliveries to enabled subscriptions whose time has come, oldest first, leaving out `excluded`. */
  dueIds(now: number, limit: number, excluded: readonly string[]): string[] {
    const rows = this.db
      .prepare(
        `SELECT d.id FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id
         WHERE d.status = 'pending' AND d.next_attempt_at <= @now AND s.enabled = 1 AND d.id NOT IN (SELECT value FROM json_each(@excluded))
         ORDER BY d.next_attempt_at, d.rowid LIMIT @limit`,
      )
      .all({ now, limit, excluded: JSON.stringify(excluded) }) as { id: string }[];
    return rows.map((r) => r.id);
  }

  /** The earliest next_attempt_at of a pending delivery to an enabled subscription. */
  nextDueAt(): number | undefined {
    const row = this.db
      .prepare(`SELECT MIN(d.next_attempt_at) AS at FROM webhook_deliveries d JOIN webhook_subscriptions s ON s.id = d.subscription_id WHERE d.status = 'pending' AND s.enabled = 1`)
      .get() as { at: number | null };
    return row.at ?? undefined;
  }

  outgoing(id: string): OutgoingDelivery | undefined {
    const delivery = this.get(id);
    if (!delivery) return undefined;
    const event = this.db.prepare('SELECT * FROM events WHERE id = ?').get(delivery.eventId) as (Omit<EventRecord, 'payload'> & { payload: string }) | undefined;
    const subscription = this.db.prepare('SELECT url, allow_private, enabled FROM webhook_subscriptions WHERE id = ?').get(delivery.subscriptionId) as
      | { url: string; allow_private: number; enabled: number }
      | undefined;
    if (!event || !subscription) return undefined;
    return {
      delivery,
      event: { ...event, payload: JSON.parse(event.payload) as Record<string, unknown> },
      url: subscription.url,
      allowPrivate: subscription.allow_private === 1,
      subscriptionEnabled: subscription.enabled === 1,
    };
  }

  /** Record one attempt and move the delivery on: delivered, retried later, or dead. */
  recordAttempt(id: string, result: AttemptResult): WebhookDelivery {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO webhook_delivery_attempts (delivery_id, attempted_at, http_status, error, outcome) VALUES (?, ?, ?, ?, ?)')
        .run(id, result.at, result.httpStatus, result.error, result.outcome);
      const status: DeliveryStatus = result.outcome === 'retrying' ? 'pending' : result.outcome;
      this.db
        .prepare(
          `UPDATE webhook_deliveries SET status = @status, attempts = attempts + 1, next_attempt_at = @next, last_attempt_at = @at,
             last_status = @httpStatus, last_error = @error, delivered_at = CASE WHEN @status = 'delivered' THEN @at ELSE delivered_at END
           WHERE id = @id`,
        )
        .run({ id, status, next: status === 'pending' ? result.nextAttemptAt : null, at: result.at, httpStatus: result.httpStatus, error: result.error });
    })();
    return this.getOrThrow(id);
  }

  /** Make every pending delivery of a subscription due now (its receiver has just answered again). Returns how many moved. */
  pullForward(subscriptionId: string, now: number): number {
    return this.db.prepare("UPDATE webhook_deliveries SET next_attempt_at = ? WHERE subscription_id = ? AND status = 'pending' AND next_attempt_at > ?").run(now, subscriptionId, now).changes;
  }

  /** Queue a delivery again (manual redelivery), due now, with a fresh budget of attempts. Its history stays. */
  requeue(id: string, now: number): WebhookDelivery {
    this.getOrThrow(id);
    this.db.prepare("UPDATE webhook_deliveries SET status = 'pending', attempts = 0, next_attempt_at = ?, delivered_at = NULL WHERE id = ?").run(now, id);
    return this.getOrThrow(id);
  }

  /** Pending deliveries (the partial index answers this without a scan). */
  countPending(): number {
    return (this.db.prepare("SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'pending'").get() as { n: number }).n;
  }
}
