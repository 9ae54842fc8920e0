import type { Db } from './database.js';

export interface PruneCounts {
  issuedSvids: number;
  authorities: string[];
  joinTokens: number;
  alerts: number;
}

/**
 * Forget what nothing valid depends on any more (lessons-from-peers rows 9, 10, 13): issuance
 * records of certificates expired before `before`, join tokens that expired or were used before
 * it, one-off alert markers, and old authorities that expired before it and sign nothing on
 * record. Events and the audit log are kept: they are the record of what happened.
 */
export class RetentionStore {
  constructor(private readonly db: Db) {}

  prune(before: number): PruneCounts {
    return this.db.transaction(() => {
      const issuedSvids = this.db.prepare('DELETE FROM issued_svids WHERE not_after < ?').run(before).changes;
      const authorities = (
        this.db
          .prepare(
            `SELECT id FROM authorities a WHERE a.state = 'old' AND a.not_after < ?
               AND NOT EXISTS (SELECT 1 FROM issued_svids s WHERE s.authority_id = a.id)`,
          )
          .all(before) as { id: string }[]
      ).map((r) => r.id);
      const deleteAuthority = this.db.prepare('DELETE FROM authorities WHERE id = ?');
      for (const id of authorities) deleteAuthority.run(id);
      const joinTokens = this.db.prepare('DELETE FROM join_tokens WHERE expires_at < ? OR (used_at IS NOT NULL AND used_at < ?)').run(before, before).changes;
      const alerts = this.db.prepare('DELETE FROM lifecycle_alerts WHERE sent_at < ?').run(before).changes;
      return { issuedSvids, authorities, joinTokens, alerts };
    })();
  }
}
