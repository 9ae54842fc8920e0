import type { Db } from './database.js';
import { WebhookDeliveryStore } from './webhook-deliveries.js';
import { WebhookOutbox } from './webhook-outbox.js';
import { WebhookSubscriptionStore } from './webhook-subscriptions.js';

/** Webhook subscriptions, their outbox of deliveries, and the history of attempts. */
export class WebhookStore {
  readonly subscriptions: WebhookSubscriptionStore;
  readonly deliveries: WebhookDeliveryStore;
  readonly outbox: WebhookOutbox;

  constructor(db: Db) {
    this.subscriptions = new WebhookSubscriptionStore(db);
    this.deliveries = new WebhookDeliveryStore(db);
    this.outbox = new WebhookOutbox(db);
  }
}
