import { randomUUID } from 'node:crypto';
import { notFound } from '../common/errors.js';
import type { Db } from './database.js';

/** A webhook subscription as callers see it: never with its secret (see secretOf). */
export interface WebhookSubscription {
  id: string;
  url: string;
  description: string;
  eventTypes: string[];
  enabled: boolean;
  allowPrivate: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface NewWebhookSubscription {
  url: string;
  description: string;
  eventTypes: readonly string[];
  enabled: boolean;
  allowPrivate: boolean;
}

export type WebhookSubscriptionChanges = Partial<NewWebhookSubscription>;

interface SubscriptionRow {
  id: string;
  url: string;
  description: string;
  enabled: number;
  allow_private: number;
  created_at: number;
  updated_at: number;
}

export class WebhookSubscriptionStore {
  constructor(private readonly db: Db) {}

  create(input: NewWebhookSubscription, secret: string, now: number): WebhookSubscription {
    const id = randomUUID();
    this.db
      .prepare('INSERT INTO webhook_subscriptions (id, url, description, secret, enabled, allow_private, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
      .run(id, input.url, input.description, secret, Number(input.enabled), Number(input.allowPrivate), now, now);
    this.replaceEventTypes(id, input.eventTypes);
    return this.getOrThrow(id);
  }

  get(id: string): WebhookSubscription | undefined {
    const row = this.db.prepare('SELECT id, url, description, enabled, allow_private, created_at, updated_at FROM webhook_subscriptions WHERE id = ?').get(id) as SubscriptionRow | undefined;
    return row ? this.toSubscription(row) : undefined;
  }

  getOrThrow(id: string): WebhookSubscription {
    const subscription = this.get(id);
    if (!subscription) throw notFound(`webhook ${id} not found`);
    return subscription;
  }

  list(): WebhookSubscription[] {
    const rows = this.db.prepare('SELECT id, url, description, enabled, allow_private, created_at, updated_at FROM webhook_subscriptions ORDER BY rowid').all() as SubscriptionRow[];
    return rows.map((row) => this.toSubscription(row));
  }

  update(id: string, changes: WebhookSubscriptionChanges, now: number): WebhookSubscription {
    const current = this.getOrThrow(id);
    const next = { ...current, ...changes };
    this.db
      .prepare('UPDATE webhook_subscriptions SET url = ?, description = ?, enabled = ?, allow_private = ?, updated_at = ? WHERE id = ?')
      .run(next.url, next.description, Number(next.enabled), Number(next.allowPrivate), now, id);
    if (changes.eventTypes) this.replaceEventTypes(id, changes.eventTypes);
    return this.getOrThrow(id);
  }

  /** Deletes the subscription with its deliveries and their history. */
  delete(id: string): WebhookSubscription {
    const subscription = this.getOrThrow(id);
    this.db.prepare('DELETE FROM webhook_subscriptions WHERE id = ?').run(id);
    return subscription;
  }

  /** The signing secret; only the dispatcher (to sign) and the create response (once) need it. */
  secretOf(id: string): string {
    const row = this.db.prepare('SELECT secret FROM webhook_subscriptions WHERE id = ?').get(id) as { secret: string } | undefined;
    if (!row) throw notFound(`webhook ${id} not found`);
    return row.secret;
  }

  private replaceEventTypes(id: string, eventTypes: readonly string[]): void {
    this.db.prepare('DELETE FROM webhook_subscription_events WHERE subscription_id = ?').run(id);
    const insert = this.db.prepare('INSERT OR IGNORE INTO webhook_subscription_events (subscription_id, event_type) VALUES (?, ?)');
    for (const type of eventTypes) insert.run(id, type);
  }

  private toSubscription(row: SubscriptionRow): WebhookSubscription {
    const types = this.db.prepare('SELECT event_type FROM webhook_subscription_events WHERE subscription_id = ? ORDER BY event_type').all(row.id) as { event_type: string }[];
    return {
      id: row.id,
      url: row.url,
      description: row.description,
      eventTypes: types.map((t) => t.event_type),
      enabled: row.enabled === 1,
      allowPrivate: row.allow_private === 1,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  }
}
