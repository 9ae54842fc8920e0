import { Gauge, type Registry } from 'prom-client';
import type { CrlRecord } from '../store/crls.js';
import type { CrlPublisher } from './ca/crl-publisher.js';

const seconds = (ms: number) => Math.floor(ms / 1000);

/**
 * CRL metrics: size, and age as absolute timestamps (seconds since the epoch) that an alert can
 * compare with time() (lessons-from-peers row 6), read from the stored CRLs at scrape time.
 */
export function registerCrlMetrics(registry: Registry, crls: CrlPublisher): void {
  const perCrl = (name: string, help: string, value: (crl: CrlRecord) => number) =>
    new Gauge({
      name,
      help,
      labelNames: ['authority_id'] as const,
      registers: [registry],
      collect() {
        this.reset();
        for (const crl of crls.current()) this.set({ authority_id: crl.authorityId }, value(crl));
      },
    });
  perCrl('sigil_crl_entries', 'Revoked serials listed on the current CRL of each X.509 authority', (c) => c.revokedCount);
  perCrl('sigil_crl_size_bytes', 'DER size of the current CRL of each X.509 authority', (c) => c.der.length);
  perCrl('sigil_crl_number', 'CRL Number of the current CRL of each X.509 authority', (c) => c.crlNumber);
  perCrl('sigil_crl_this_update_timestamp_seconds', 'thisUpdate of the current CRL of each X.509 authority, seconds since the epoch', (c) => seconds(c.thisUpdate));
  perCrl('sigil_crl_next_update_timestamp_seconds', 'nextUpdate of the current CRL of each X.509 authority, seconds since the epoch', (c) => seconds(c.nextUpdate));
}
