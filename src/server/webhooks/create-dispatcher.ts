import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Store } from '../../store/store.js';
import { WebhookDispatcher } from './dispatcher.js';
import { createWebhookMetrics } from './webhook-metrics.js';
import { webhookSettingsFrom, type WebhookConfigSection } from './webhook-settings.js';

/** The server's dispatcher, from its config; not started (see WebhookDispatcher.start). */
export function createWebhookDispatcher(options: { store: Store; clock: Clock; log: Logger; config: WebhookConfigSection }): WebhookDispatcher {
  return new WebhookDispatcher({
    store: options.store,
    clock: options.clock,
    log: options.log,
    metrics: createWebhookMetrics(options.store),
    settings: webhookSettingsFrom(options.config),
  });
}
