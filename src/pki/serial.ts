import { randomBytes } from 'node:crypto';

/**
 * A 128-bit random serial as lowercase hex. The top bit is cleared so the DER INTEGER is
 * positive, and the first byte is non-zero so the value keeps all 16 bytes.
 */
export function randomSerialHex(): string {
  const bytes = randomBytes(16);
  bytes[0] = ((bytes[0] ?? 0) & 0x7f) | 0x01;
  return bytes.toString('hex');
}

/** A serial in the form we store and compare: lowercase hex without DER's leading zero bytes. */
export function normalizeSerialHex(hex: string): string {
  return hex.toLowerCase().replace(/^(00)+(?=[0-9a-f])/, '');
}
