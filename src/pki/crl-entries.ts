import { parseCrl } from './crl-der.js';

/** Serial numbers (lowercase hex, as we store them) listed in a DER CRL. Signature not checked here. */
export function revokedSerialsOfCrl(der: Uint8Array): string[] {
  return parseCrl(der).revoked.map((e) => e.serialHex);
}
