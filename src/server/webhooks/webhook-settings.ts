/** How the dispatcher delivers; from the `webhooks:` section of the server config. */
export interface WebhookSettings {
  /** How long to wait for a receiver's status line. */
  timeoutMs: number;
  /** Attempts before a delivery is dead-lettered (manual redelivery gives it as many again). */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Loopback and private addresses are allowed for every webhook, not only those with allow_private. */
  allowPrivateDestinations: boolean;
}

export interface WebhookConfigSection {
  timeout: number;
  max_attempts: number;
  backoff_base: number;
  backoff_max: number;
  allow_private_destinations: boolean;
}

export function webhookSettingsFrom(section: WebhookConfigSection): WebhookSettings {
  return {
    timeoutMs: section.timeout * 1000,
    maxAttempts: section.max_attempts,
    backoffBaseMs: section.backoff_base * 1000,
    backoffMaxMs: section.backoff_max * 1000,
    allowPrivateDestinations: section.allow_private_destinations,
  };
}
