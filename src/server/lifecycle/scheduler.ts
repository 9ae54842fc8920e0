import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Authority, AuthorityKind } from '../../store/authorities.js';
import type { Store } from '../../store/store.js';
import { authorityKinds } from '../ca/authority-manager.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import { activationDueAt } from '../ca/rotation-policy.js';
import { alertAction, alertTypeOf, nextAlertAt } from './expiry-alerts.js';

export interface SchedulerSettings {
  intervalMs: number;
  /** Records older than this (past expiry) are pruned. */
  retentionMs: number;
  /** Fractions of an SVID's lifetime at which an unrotated SVID raises an alert, ascending. */
  thresholds: readonly number[];
  staleAgentAfterMs: number;
}

export interface SchedulerDeps {
  store: Store;
  ca: CertificateAuthority;
  clock: Clock;
  log: Logger;
  settings: SchedulerSettings;
  /** Re-sign CRLs whose nextUpdate is near (the CRL publisher). */
  refreshCrls?: (now: number) => Promise<void>;
  /** Delete the private key of a pruned authority. */
  deleteKey?: (authorityId: string) => Promise<void>;
}

export interface RotationOutcome {
  lastSuccess?: number;
  lastFailure?: number;
}

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const batch = 500;

/**
 * The one lifecycle loop of the server (injected clock; state in SQLite, so a restart neither
 * repeats nor misses an alert): rotates authorities, refreshes CRLs, and raises expiry, rotation
 * and staleness alerts as events (which the webhook outbox delivers).
 */
export class LifecycleScheduler {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  readonly rotation: Record<AuthorityKind, RotationOutcome> = { x509: {}, jwt: {} };

  constructor(private readonly deps: SchedulerDeps) {}

  start(): void {
    const loop = () => {
      void this.tick().finally(() => {
        this.timer = setTimeout(loop, this.deps.settings.intervalMs);
        this.timer.unref();
      });
    };
    this.timer = setTimeout(loop, this.deps.settings.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  /** One pass; concurrent calls share it. Errors are logged, never thrown: the loop must go on. */
  tick(): Promise<void> {
    this.running ??= this.pass().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async pass(): Promise<void> {
    const { log, clock } = this.deps;
    try {
      await this.deps.ca.authorities.rotate();
      const now = clock.now().getTime();
      for (const kind of authorityKinds) this.rotation[kind].lastSuccess = now;
    } catch (err) {
      const now = clock.now().getTime();
      for (const kind of authorityKinds) this.rotation[kind].lastFailure = now;
      log.error({ err: (err as Error).message }, 'authority rotation failed');
    }
    for (const step of [() => this.deps.refreshCrls?.(clock.now().getTime()), () => this.svidAlerts(), () => this.authorityAlerts(), () => this.staleAgentAlerts(), () => this.prune()]) {
      try {
        await step();
      } catch (err) {
        log.error({ err: (err as Error).message }, 'lifecycle step failed');
      }
    }
  }

  /** Expiry alerts of current SVIDs, found through their next_alert_at index. */
  svidAlerts(): void {
    const { store, clock, settings } = this.deps;
    const now = clock.now().getTime();
    // An SVID can owe several alerts after downtime (each sent in turn), so read until none is due.
    for (let round = 0; round < 1000; round++) {
      const due = store.svidLifecycle.dueAlerts(now, batch);
      for (const svid of due) {
        const stage = svid.alertStage + 1;
        const type = alertTypeOf(svid.kind, stage, settings.thresholds);
        const expired = stage > settings.thresholds.length;
        store.transaction(() => {
          store.events.append(now, type, svid.spiffeId, {
            serial: svid.serial,
            spiffe_id: svid.spiffeId,
            kind: svid.kind,
            entry_id: svid.entryId,
            agent_id: svid.agentId,
            authority_id: svid.authorityId,
            not_before: iso(svid.notBefore),
            not_after: iso(svid.notAfter),
            lifetime_elapsed: expired ? 1 : settings.thresholds[stage - 1],
            expired,
            action: alertAction(svid.kind, expired, svid.agentId),
          });
          store.svidLifecycle.advanceAlert(svid.serial, stage, nextAlertAt(svid.notBefore, svid.notAfter, settings.thresholds, stage));
        });
      }
      if (due.length === 0) return;
    }
  }

  /** An active authority past its activation point with no successor means rotation is failing; an upstream CA nearing its end cannot be rotated by us. */
  authorityAlerts(): void {
    const { store, clock, ca } = this.deps;
    const now = clock.now().getTime();
    for (const kind of authorityKinds) {
      const active = store.authorities.active(kind);
      if (!active || now < activationDueAt(active) || store.authorities.prepared(kind)) continue;
      this.authorityAlert(`authority.expiring:${active.id}`, active, now, `rotation of the ${kind} authority is failing (no successor is prepared): check the server log`);
    }
    const upstream = ca.settings.upstream?.issuer.certificate;
    if (upstream) {
      const notAfter = upstream.notAfter.getTime();
      const lifetime = notAfter - upstream.notBefore.getTime();
      if (notAfter - now <= Math.min(lifetime / 6, 30 * 86_400_000) && store.svidLifecycle.claimAlert(`upstream.expiring:${upstream.serialNumber}`, now)) {
        this.deps.log.warn({ notAfter: iso(notAfter) }, 'the upstream CA certificate nears its end; Sigil cannot rotate it');
        store.transaction(() =>
          store.events.append(now, 'authority.expiring', `upstream:${upstream.serialNumber}`, {
            kind: 'x509',
            upstream: true,
            serial: upstream.serialNumber.toLowerCase(),
            not_after: iso(notAfter),
            action: `replace ca.upstream.cert_file and key_file before ${iso(notAfter)} and restart the server`,
          }),
        );
      }
    }
  }

  private authorityAlert(key: string, a: Authority, now: number, action: string): void {
    const { store } = this.deps;
    store.transaction(() => {
      if (!store.svidLifecycle.claimAlert(key, now)) return;
      store.events.append(now, 'authority.expiring', a.id, { kind: a.kind, authority_id: a.id, state: a.state, not_after: iso(a.notAfter), upstream: false, action });
    });
  }

  /** Forget records nothing valid depends on; delete the keys of pruned authorities. */
  async prune(): Promise<void> {
    const { store, clock, settings, log } = this.deps;
    const pruned = store.retention.prune(clock.now().getTime() - settings.retentionMs);
    for (const id of pruned.authorities) await this.deps.deleteKey?.(id);
    if (pruned.issuedSvids || pruned.authorities.length || pruned.joinTokens) log.info({ ...pruned }, 'pruned expired records');
  }

  /** Agents that have not synced for a while: their SVIDs will expire. One alert per silent period. */
  staleAgentAlerts(): void {
    const { store, clock, settings } = this.deps;
    const now = clock.now().getTime();
    for (const agent of store.agents.staleSince(now - settings.staleAgentAfterMs)) {
      const seen = agent.lastSeenAt ?? agent.createdAt;
      store.transaction(() => {
        if (!store.svidLifecycle.claimAlert(`agent.stale:${agent.id}:${seen}`, now)) return;
        store.events.append(now, 'agent.stale', agent.id, {
          agent_id: agent.id,
          spiffe_id: agent.spiffeId,
          last_seen_at: iso(seen),
          svid_expires_at: iso(agent.svidNotAfter),
          action: `agent ${agent.id} has not synced since ${iso(seen)}: its SVIDs will expire; check the node`,
        });
      });
    }
  }
}
