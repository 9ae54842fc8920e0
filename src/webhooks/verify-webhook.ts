/**
 * Signing and verification of Sigil webhooks, as the Standard Webhooks spec defines them
 * (https://www.standardwebhooks.com): the signature is `v1,<base64 HMAC-SHA256>` of
 * `<webhook-id>.<webhook-timestamp>.<raw body>`, keyed with the base64 part of `whsec_<base64>`.
 *
 * Self-contained (node:crypto only), so that a receiver can import or copy this one file.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export const webhookSecretPrefix = 'whsec_';
/** Five minutes either way, as the spec recommends: a replayed message older than this is refused. */
export const defaultToleranceSeconds = 300;

export class WebhookVerificationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookVerificationError';
  }
}

/** Node's IncomingHttpHeaders, a plain object, or a fetch `Headers`. */
export type WebhookHeaders = Headers | Record<string, string | string[] | undefined>;

export interface VerifyOptions {
  toleranceSeconds?: number;
  /** The receiver's current time (default: now). */
  now?: Date | number;
}

export interface VerifiedWebhook {
  /** The webhook-id: the same on every retry of a message. Keep it to drop repeats. */
  id: string;
  timestamp: Date;
  /** The parsed JSON body: { type, timestamp, data }. */
  payload: unknown;
}

function keyOf(secret: string): Buffer {
  if (!secret.startsWith(webhookSecretPrefix)) throw new WebhookVerificationError(`the secret must start with "${webhookSecretPrefix}" (use it exactly as it was shown when the webhook was created)`);
  const key = Buffer.from(secret.slice(webhookSecretPrefix.length), 'base64');
  if (key.length === 0) throw new WebhookVerificationError(`the secret has no key after "${webhookSecretPrefix}"`);
  return key;
}

/** The webhook-signature header value for one message: `v1,<base64>`. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string | Buffer): string {
  const mac = createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.`).update(body).digest('base64');
  return `v1,${mac}`;
}

function header(headers: WebhookHeaders, name: string): string | undefined {
  if (typeof (headers as Headers).get === 'function') return (headers as Headers).get(name) ?? undefined;
  for (const [key, value] of Object.entries(headers as Record<string, string | string[] | undefined>)) {
    if (key.toLowerCase() === name) return Array.isArray(value) ? value.join(' ') : value;
  }
  return undefined;
}

function requiredHeader(headers: WebhookHeaders, name: string): string {
  const value = header(headers, name);
  if (value === undefined || value === '') throw new WebhookVerificationError(`missing ${name} header`);
  return value;
}

/**
 * Check a received webhook: throws WebhookVerificationError unless one of the signatures in
 * webhook-signature matches and webhook-timestamp is within the tolerance. Pass the body exactly
 * as received (the raw bytes, not re-serialized JSON).
 */
export function verifyWebhook(secret: string, headers: WebhookHeaders, rawBody: string | Buffer, options: VerifyOptions = {}): VerifiedWebhook {
  const id = requiredHeader(headers, 'webhook-id');
  const timestampText = requiredHeader(headers, 'webhook-timestamp');
  const signatures = requiredHeader(headers, 'webhook-signature');
  if (!/^\d{1,12}$/.test(timestampText)) throw new WebhookVerificationError(`webhook-timestamp is not a number of seconds: ${JSON.stringify(timestampText)}`);
  const timestamp = Number(timestampText);
  const nowSeconds = Math.floor((options.now === undefined ? Date.now() : typeof options.now === 'number' ? options.now : options.now.getTime()) / 1000);
  const tolerance = options.toleranceSeconds ?? defaultToleranceSeconds;
  if (timestamp < nowSeconds - tolerance) throw new WebhookVerificationError(`webhook-timestamp is too old (${nowSeconds - timestamp}s, tolerance ${tolerance}s)`);
  if (timestamp > nowSeconds + tolerance) throw new WebhookVerificationError(`webhook-timestamp is in the future (${timestamp - nowSeconds}s, tolerance ${tolerance}s)`);

  const expected = Buffer.from(signWebhook(secret, id, timestamp, rawBody).slice('v1,'.length), 'base64');
  // Several space-separated signatures may be sent (for example while a secret is rotated); one match is enough.
  const matches = signatures.split(' ').some((candidate) => {
    const [version, value] = candidate.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookVerificationError('no webhook-signature matches: wrong secret, or the body was changed (verify the raw body, not re-serialized JSON)');

  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.isBuffer(rawBody) ? rawBody.toString('utf8') : rawBody);
  } catch {
    throw new WebhookVerificationError('the body is not JSON');
  }
  return { id, timestamp: new Date(timestamp * 1000), payload };
}
