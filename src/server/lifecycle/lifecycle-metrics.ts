import { Gauge, type Registry } from 'prom-client';
import type { Clock } from '../../common/clock.js';
import type { Store } from '../../store/store.js';
import type { LifecycleScheduler } from './scheduler.js';

/** Rotation outcomes and the earliest current SVID expiry, as absolute timestamps (seconds since the epoch). */
export function registerLifecycleMetrics(registry: Registry, scheduler: LifecycleScheduler, store: Store, clock: Clock): void {
  new Gauge({
    name: 'sigil_authority_rotation_last_success_timestamp_seconds',
    help: 'When the scheduled authority rotation last succeeded, per kind',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const [kind, outcome] of Object.entries(scheduler.rotation)) if (outcome.lastSuccess) this.set({ kind }, Math.floor(outcome.lastSuccess / 1000));
    },
  });
  new Gauge({
    name: 'sigil_authority_rotation_last_failure_timestamp_seconds',
    help: 'When the scheduled authority rotation last failed, per kind (absent if never)',
    labelNames: ['kind'] as const,
    registers: [registry],
    collect() {
      for (const [kind, outcome] of Object.entries(scheduler.rotation)) if (outcome.lastFailure) this.set({ kind }, Math.floor(outcome.lastFailure / 1000));
    },
  });
  new Gauge({
    name: 'sigil_svid_earliest_current_expiry_timestamp_seconds',
    help: 'The earliest expiry among current (not superseded, not revoked) workload and agent SVIDs',
    registers: [registry],
    collect() {
      this.reset();
      const t = store.svidLifecycle.earliestCurrentExpiry(clock.now().getTime());
      if (t !== undefined) this.set(Math.floor(t / 1000));
    },
  });
}
