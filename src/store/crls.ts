import type { Db } from './database.js';

/** What is kept of an authority's newest CRL across restarts: its number and times, not its bytes. */
export interface CrlState {
  authorityId: string;
  crlNumber: number;
  thisUpdate: number;
  nextUpdate: number;
  revokedCount: number;
  createdAt: number;
}

/** A signed CRL (held in memory by the publisher). */
export interface CrlRecord extends CrlState {
  der: Uint8Array;
}

interface CrlStateRow {
  authority_id: string;
  crl_number: number;
  this_update: number;
  next_update: number;
  revoked_count: number;
  created_at: number;
}

/** The newest CRL state of each X.509 authority (one row each). */
export class CrlStore {
  constructor(private readonly db: Db) {}

  latest(authorityId: string): CrlState | undefined {
    const r = this.db.prepare('SELECT * FROM crl_state WHERE authority_id = ?').get(authorityId) as CrlStateRow | undefined;
    return r && { authorityId: r.authority_id, crlNumber: r.crl_number, thisUpdate: r.this_update, nextUpdate: r.next_update, revokedCount: r.revoked_count, createdAt: r.created_at };
  }

  /** Record a newer CRL of an authority. Its CRL Number must exceed the recorded one. */
  replace(crl: CrlState): void {
    const previous = this.latest(crl.authorityId);
    if (previous && crl.crlNumber <= previous.crlNumber) {
      throw new Error(`CRL Number ${crl.crlNumber} of authority ${crl.authorityId} does not exceed the stored ${previous.crlNumber}`);
    }
    this.db
      .prepare(
        `INSERT INTO crl_state (authority_id, crl_number, this_update, next_update, revoked_count, created_at) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (authority_id) DO UPDATE SET crl_number = excluded.crl_number, this_update = excluded.this_update, next_update = excluded.next_update,
           revoked_count = excluded.revoked_count, created_at = excluded.created_at`,
      )
      .run(crl.authorityId, crl.crlNumber, crl.thisUpdate, crl.nextUpdate, crl.revokedCount, crl.createdAt);
  }
}
