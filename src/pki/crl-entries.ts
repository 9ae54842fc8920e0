import { x509 } from './crypto-provider.js';
import { ownBytes } from './pem.js';
import { normalizeSerialHex } from './serial.js';

/** Serial numbers (lowercase hex, as we store them) listed in a DER CRL. Signature not checked here. */
export function revokedSerialsOfCrl(der: Uint8Array): string[] {
  const crl = new x509.X509Crl(ownBytes(der));
  return crl.entries.map((e) => normalizeSerialHex(e.serialNumber));
}
