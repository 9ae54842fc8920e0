import type { WebhookAttempt, WebhookDelivery } from '../../store/webhook-deliveries.js';
import type { WebhookSubscription } from '../../store/webhook-subscriptions.js';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

/** A webhook subscription in REST responses: never with its secret. */
export function presentWebhook(s: WebhookSubscription) {
  return {
    id: s.id,
    url: s.url,
    description: s.description,
    events: s.eventTypes,
    enabled: s.enabled,
    allow_private: s.allowPrivate,
    created_at: iso(s.createdAt),
    updated_at: iso(s.updatedAt),
  };
}

/** A delivery; its id is the webhook-id header the receiver sees. */
export function presentDelivery(d: WebhookDelivery) {
  return {
    id: d.id,
    subscription_id: d.subscriptionId,
    event_id: d.eventId,
    event_type: d.eventType,
    status: d.status,
    attempts: d.attempts,
    next_attempt_at: iso(d.nextAttemptAt),
    last_attempt_at: iso(d.lastAttemptAt),
    last_status: d.lastStatus,
    last_error: d.lastError,
    delivered_at: iso(d.deliveredAt),
    created_at: iso(d.createdAt),
  };
}

export function presentAttempt(a: WebhookAttempt) {
  return { attempted_at: iso(a.attemptedAt), http_status: a.httpStatus, error: a.error, outcome: a.outcome };
}
