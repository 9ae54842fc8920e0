import type { Authority } from '../../store/authorities.js';

const day = 86_400_000;

/** Prepare the next authority when the active one has this little left (SPIRE: min(lifetime/2, 30 d)). */
export function prepareThresholdMs(lifetimeMs: number): number {
  return Math.min(lifetimeMs / 2, 30 * day);
}

/** Activate the prepared authority when the active one has this little left (min(lifetime/6, 7 d)). */
export function activateThresholdMs(lifetimeMs: number): number {
  return Math.min(lifetimeMs / 6, 7 * day);
}

export type RotationStep = 'create-active' | 'prepare' | 'activate' | 'none';

/**
 * What the slots need at `now`: an authority must always be active; the next one is prepared
 * (and published) well before it signs, then activated. A missing or expired active authority
 * (first start, long downtime) is replaced at once.
 */
export function rotationStep(active: Authority | undefined, prepared: Authority | undefined, now: number): RotationStep {
  if (!active || active.notAfter <= now) return prepared && prepared.notAfter > now ? 'activate' : 'create-active';
  const lifetime = active.notAfter - active.notBefore;
  const remaining = active.notAfter - now;
  if (remaining <= activateThresholdMs(lifetime)) return prepared ? 'activate' : 'prepare';
  if (remaining <= prepareThresholdMs(lifetime) && !prepared) return 'prepare';
  return 'none';
}

/** When the active authority will need its successor activated, for "rotation failing" alerts. */
export function activationDueAt(active: Authority): number {
  return active.notAfter - activateThresholdMs(active.notAfter - active.notBefore);
}
