import type { Db } from './database.js';
import type { IssuedSvid, SvidKind } from './issued-svids.js';

export type DueAlert = Pick<IssuedSvid, 'serial' | 'spiffeId' | 'kind' | 'entryId' | 'agentId' | 'authorityId' | 'notBefore' | 'notAfter'> & { alertStage: number };

interface DueAlertRow {
  serial: string;
  spiffe_id: string;
  kind: SvidKind;
  entry_id: string | null;
  agent_id: string | null;
  authority_id: string;
  not_before: number;
  not_after: number;
  alert_stage: number;
}

/**
 * Which SVIDs are current, and when each one's next expiry alert is due. Due alerts are found
 * through a partial index on next_alert_at, so the cost is the number of alerts due, not the
 * number of issuance records.
 */
export class SvidLifecycleStore {
  constructor(private readonly db: Db) {}

  /** A new SVID replaces the earlier ones of the same entry on the same agent (of the same agent; of the server). */
  markSuperseded(newSerial: string, kind: SvidKind, entryId: string | null, agentId: string | null, now: number): number {
    if (kind === 'workload' && entryId) {
      return this.db
        .prepare(`UPDATE issued_svids SET superseded_at = ?, next_alert_at = NULL WHERE kind = 'workload' AND entry_id = ? AND agent_id IS ? AND serial != ? AND superseded_at IS NULL`)
        .run(now, entryId, agentId, newSerial).changes;
    }
    if (kind === 'agent' && agentId) {
      return this.db.prepare(`UPDATE issued_svids SET superseded_at = ?, next_alert_at = NULL WHERE kind = 'agent' AND agent_id = ? AND serial != ? AND superseded_at IS NULL`).run(now, agentId, newSerial).changes;
    }
    if (kind === 'server') {
      return this.db.prepare(`UPDATE issued_svids SET superseded_at = ?, next_alert_at = NULL WHERE kind = 'server' AND serial != ? AND superseded_at IS NULL`).run(now, newSerial).changes;
    }
    return 0;
  }

  scheduleAlert(serial: string, at: number | null): void {
    this.db.prepare('UPDATE issued_svids SET next_alert_at = ? WHERE serial = ?').run(at, serial);
  }

  dueAlerts(now: number, limit: number): DueAlert[] {
    const rows = this.db
      .prepare(
        `SELECT serial, spiffe_id, kind, entry_id, agent_id, authority_id, not_before, not_after, alert_stage FROM issued_svids
         WHERE next_alert_at IS NOT NULL AND next_alert_at <= ? AND superseded_at IS NULL AND revoked_at IS NULL
         ORDER BY next_alert_at LIMIT ?`,
      )
      .all(now, limit) as DueAlertRow[];
    return rows.map((r) => ({
      serial: r.serial,
      spiffeId: r.spiffe_id,
      kind: r.kind,
      entryId: r.entry_id,
      agentId: r.agent_id,
      authorityId: r.authority_id,
      notBefore: r.not_before,
      notAfter: r.not_after,
      alertStage: r.alert_stage,
    }));
  }

  advanceAlert(serial: string, stage: number, nextAt: number | null): void {
    this.db.prepare('UPDATE issued_svids SET alert_stage = ?, next_alert_at = ? WHERE serial = ?').run(stage, nextAt, serial);
  }

  /** Earliest expiry among current, unrevoked SVIDs that have not expired yet (ms), for metrics. */
  earliestCurrentExpiry(now: number): number | undefined {
    const row = this.db.prepare(`SELECT MIN(not_after) AS t FROM issued_svids WHERE superseded_at IS NULL AND revoked_at IS NULL AND not_after > ? AND kind IN ('workload', 'agent')`).get(now) as { t: number | null };
    return row.t ?? undefined;
  }

  /**
   * Valid SVIDs signed by an authority that have not been replaced yet (an authority cannot be
   * revoked while any remain): how many, and the first `sampleSize` of them to name in the refusal.
   * Superseded ones were re-issued by the agents after a taint; minted ones never are.
   */
  unreplacedSignedBy(authorityId: string, now: number, sampleSize: number): { count: number; sample: Pick<IssuedSvid, 'serial' | 'spiffeId' | 'kind'>[] } {
    const where = 'FROM issued_svids WHERE authority_id = ? AND not_after > ? AND revoked_at IS NULL AND superseded_at IS NULL';
    const count = (this.db.prepare(`SELECT COUNT(*) AS n ${where}`).get(authorityId, now) as { n: number }).n;
    const rows = this.db.prepare(`SELECT serial, spiffe_id, kind ${where} ORDER BY rowid LIMIT ?`).all(authorityId, now, sampleSize) as { serial: string; spiffe_id: string; kind: SvidKind }[];
    return { count, sample: rows.map((r) => ({ serial: r.serial, spiffeId: r.spiffe_id, kind: r.kind })) };
  }

  /** Record a one-off alert (authority, stale agent); false if it was sent already. */
  claimAlert(key: string, now: number): boolean {
    return this.db.prepare('INSERT OR IGNORE INTO lifecycle_alerts (key, sent_at) VALUES (?, ?)').run(key, now).changes === 1;
  }
}
