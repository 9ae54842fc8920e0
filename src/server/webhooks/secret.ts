import { randomBytes } from 'node:crypto';
import { webhookSecretPrefix } from '../../webhooks/verify-webhook.js';

/** A Standard Webhooks secret: `whsec_` and the base64 of 256 random bits (the spec asks for 24 to 64 bytes). */
export function generateWebhookSecret(): string {
  return `${webhookSecretPrefix}${randomBytes(32).toString('base64')}`;
}
