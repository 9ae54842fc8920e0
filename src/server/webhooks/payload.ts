import type { EventRecord } from '../../store/events.js';
import { actionFor } from './event-actions.js';

export interface WebhookPayload {
  type: string;
  /** When the event happened (RFC 3339), not when this attempt was made. */
  timestamp: string;
  data: Record<string, unknown>;
}

/**
 * The JSON body of a delivery: Standard Webhooks' { type, timestamp, data }. `data` is the event's
 * own payload (ids, SPIFFE IDs, serials, RFC 3339 times) with the event id and subject, and the
 * action to take: the producer's own `action` when it wrote one (it knows the particulars, such as
 * which agent and since when), else the text for the event type. Built from the event row alone,
 * so every retry sends the same bytes.
 */
export function webhookPayload(event: EventRecord): WebhookPayload {
  const own = event.payload.action;
  return {
    type: event.type,
    timestamp: new Date(event.at).toISOString(),
    data: { event_id: event.id, subject: event.subject, ...event.payload, action: typeof own === 'string' && own !== '' ? own : actionFor(event.type) },
  };
}
