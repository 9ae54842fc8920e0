import type { SvidKind } from '../../store/issued-svids.js';

/**
 * Expiry alerts of an SVID: one at each threshold (a fraction of its lifetime elapsed without a
 * successor), then one at expiry. Stage n (1-based) is the n-th of these moments.
 */
export function alertTimes(notBefore: number, notAfter: number, thresholds: readonly number[]): number[] {
  const lifetime = notAfter - notBefore;
  return [...thresholds.map((t) => Math.round(notBefore + lifetime * t)), notAfter];
}

/** When the alert after `stageReached` is due; null once the expiry alert is sent. */
export function nextAlertAt(notBefore: number, notAfter: number, thresholds: readonly number[], stageReached: number): number | null {
  return alertTimes(notBefore, notAfter, thresholds)[stageReached] ?? null;
}

export type SvidAlertType = 'svid.expiring' | 'svid.expired' | 'agent.svid_expiring';

export function alertTypeOf(kind: SvidKind, stage: number, thresholds: readonly number[]): SvidAlertType {
  if (kind === 'agent') return 'agent.svid_expiring';
  return stage > thresholds.length ? 'svid.expired' : 'svid.expiring';
}

/** What an operator should do, in the payload of each alert. */
export function alertAction(kind: SvidKind, expired: boolean, agentId: string | null): string {
  if (kind === 'agent') {
    return expired
      ? `agent ${agentId} let its own SVID expire: it must attest again with a new join token (sigil token generate)`
      : `agent ${agentId} has not renewed its own SVID: check that the agent runs and reaches the server`;
  }
  if (kind === 'mint') return expired ? 'a minted SVID expired: mint a new one if it is still in use' : 'a minted SVID is nearing expiry: mint a new one (sigil x509 mint) and deploy it';
  return expired
    ? `the SVID expired without a successor: workloads using it fail TLS now; check agent ${agentId} and the entry`
    : `the SVID has not been rotated: check that agent ${agentId} runs and reaches the server (sigil agent show ${agentId})`;
}
