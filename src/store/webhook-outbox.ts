import type { Statement } from 'better-sqlite3';
import type { Db } from './database.js';

/** A delivery id is also the webhook-id header: random, so ids never repeat even across a reset database. */
const newDeliveryId = "'msg_' || lower(hex(randomblob(16)))";

/**
 * Writes outbox rows (webhook deliveries). Called inside the transaction that writes the event,
 * so an event and its deliveries are committed, or rolled back, together.
 */
export class WebhookOutbox {
  private forEventStatement: Statement | undefined;

  constructor(private readonly db: Db) {}

  /** One pending delivery per enabled subscription whose filter has `type`. Returns how many. */
  enqueueForEvent(eventId: number, type: string, at: number): number {
    // Prepared once and kept: every event append runs it.
    this.forEventStatement ??= this.db.prepare(
      `INSERT INTO webhook_deliveries (id, event_id, subscription_id, status, next_attempt_at, created_at)
       SELECT ${newDeliveryId}, @eventId, s.id, 'pending', @at, @at
       FROM webhook_subscription_events f JOIN webhook_subscriptions s ON s.id = f.subscription_id
       WHERE f.event_type = @type AND s.enabled = 1`,
    );
    return this.forEventStatement.run({ eventId, type, at }).changes;
  }

  /** A delivery of `eventId` to one subscription, whatever its filter (the ping of `webhook test`). Returns its id. */
  enqueueFor(subscriptionId: string, eventId: number, at: number): string {
    const row = this.db
      .prepare(`INSERT INTO webhook_deliveries (id, event_id, subscription_id, status, next_attempt_at, created_at) VALUES (${newDeliveryId}, ?, ?, 'pending', ?, ?) RETURNING id`)
      .get(eventId, subscriptionId, at, at) as { id: string };
    return row.id;
  }
}
