import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Store } from '../store/store.js';

export interface ServerMetrics {
  registry: Registry;
  httpRequests: Counter<'method' | 'route' | 'status'>;
  httpDuration: Histogram<'method' | 'route'>;
  svidsIssued: Counter<'kind'>;
}

/**
 * Prometheus metrics. Expiry is exported as absolute timestamps (seconds since the epoch),
 * which alerts can compare with time(); TTL gauges cannot be (lessons-from-peers row 6).
 */
export function createServerMetrics(store: Store): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'sigil_process_' });
  const authorityNotAfter = new Gauge({
    name: 'sigil_authority_not_after_timestamp_seconds',
    help: 'Expiry of each signing authority, seconds since the epoch',
    labelNames: ['kind', 'state', 'authority_id'] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const a of store.authorities.list()) {
        this.set({ kind: a.kind, state: a.state, authority_id: a.id }, Math.floor(a.notAfter / 1000));
      }
    },
  });
  void authorityNotAfter;
  new Gauge({
    name: 'sigil_registration_entries',
    help: 'Number of registration entries',
    registers: [registry],
    collect() {
      this.set(store.entries.count());
    },
  });
  return {
    registry,
    httpRequests: new Counter({ name: 'sigil_http_requests_total', help: 'Admin REST requests', labelNames: ['method', 'route', 'status'] as const, registers: [registry] }),
    httpDuration: new Histogram({ name: 'sigil_http_request_duration_seconds', help: 'Admin REST request latency', labelNames: ['method', 'route'] as const, registers: [registry] }),
    svidsIssued: new Counter({ name: 'sigil_svids_issued_total', help: 'X509-SVIDs signed', labelNames: ['kind'] as const, registers: [registry] }),
  };
}
