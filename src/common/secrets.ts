import { createHash, randomBytes } from 'node:crypto';

/** A bearer secret: 256 random bits, base64url, with a prefix that says what it is when found in a file or log. */
export function generateSecretToken(prefix: string): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

/** Tokens are stored only as their SHA-256; they are high-entropy, so no salt or slow hash is needed. */
export function hashSecretToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
