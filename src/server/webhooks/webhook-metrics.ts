import { Counter, Gauge, type Registry } from 'prom-client';
import type { Store } from '../../store/store.js';
import type { AttemptOutcome } from '../../store/webhook-deliveries.js';

export interface WebhookMetrics {
  /** One per attempt: delivered (2xx), retrying (failed, tried again later) or dead (failed, no attempts left). */
  deliveries: Counter<'outcome'>;
  pending: Gauge;
}

/** Made before the server's registry exists; registerWebhookMetrics puts them in it. */
export function createWebhookMetrics(store: Store): WebhookMetrics {
  const deliveries = new Counter({
    name: 'sigil_webhook_deliveries_total',
    help: 'Webhook delivery attempts by outcome: delivered, retrying (will be tried again), dead (dead-lettered after the last attempt)',
    labelNames: ['outcome'] as const,
    registers: [],
  });
  // Present at 0 from the start, so that rate() and alerts see every outcome.
  for (const outcome of ['delivered', 'retrying', 'dead'] satisfies AttemptOutcome[]) deliveries.inc({ outcome }, 0);
  const pending = new Gauge({
    name: 'sigil_webhook_deliveries_pending',
    help: 'Webhook deliveries waiting for their first or next attempt',
    registers: [],
    collect() {
      this.set(store.webhooks.deliveries.countPending());
    },
  });
  return { deliveries, pending };
}

export function registerWebhookMetrics(registry: Registry, metrics: WebhookMetrics): void {
  registry.registerMetric(metrics.deliveries);
  registry.registerMetric(metrics.pending);
}
