import type { RevocationReason } from '../pki/crl.js';
import type { Db } from './database.js';
import type { SvidKind } from './issued-svids.js';

/** Which issued SVIDs a revocation is about. */
export type RevocationSelector = { serial: string } | { spiffeId: string } | { entryId: string } | { agentId: string } | { authorityId: string };

/** One line of a CRL. */
export interface RevokedEntry {
  serial: string;
  revokedAt: number;
  reason: RevocationReason;
  notAfter: number;
  /** Order of revocation across the store (see revokedSince). */
  revocationSeq: number;
}

/** An SVID that a revocation applies to: what its `svid.revoked` event says about it. */
export interface RevocableSvid {
  serial: string;
  spiffeId: string;
  kind: SvidKind;
  entryId: string | null;
  agentId: string | null;
  authorityId: string;
  notAfter: number;
}

interface RevocableRow {
  serial: string;
  spiffe_id: string;
  kind: SvidKind;
  entry_id: string | null;
  agent_id: string | null;
  authority_id: string;
  not_after: number;
}

type RevokedRow = [serial: string, revokedAt: number, reason: string | null, notAfter: number, seq: number];

const toRevokedEntry = ([serial, revokedAt, reason, notAfter, seq]: RevokedRow): RevokedEntry => ({
  serial,
  revokedAt,
  reason: (reason ?? 'unspecified') as RevocationReason,
  notAfter,
  revocationSeq: seq,
});

const selectorColumn = { serial: 'serial', spiffeId: 'spiffe_id', entryId: 'entry_id', agentId: 'agent_id', authorityId: 'authority_id' } as const;

export function selectorKey(selector: RevocationSelector): keyof typeof selectorColumn {
  return Object.keys(selector)[0] as keyof typeof selectorColumn;
}

export function selectorValue(selector: RevocationSelector): string {
  return Object.values(selector)[0] as string;
}

/**
 * Revocation state of issued SVIDs. Every query goes through an index: the selector's (serial,
 * spiffe_id, entry_id, agent_id, authority_id) to revoke, and the partial index of revoked rows to list a CRL.
 */
export class RevocationStore {
  constructor(private readonly db: Db) {}

  /** SVIDs matching `selector` that are still valid at `now` (not expired, not revoked), in issuance order. */
  revocable(selector: RevocationSelector, now: number): RevocableSvid[] {
    const column = selectorColumn[selectorKey(selector)];
    const rows = this.db
      .prepare(`SELECT serial, spiffe_id, kind, entry_id, agent_id, authority_id, not_after FROM issued_svids WHERE ${column} = ? AND not_after > ? AND revoked_at IS NULL ORDER BY rowid`)
      .all(selectorValue(selector), now) as RevocableRow[];
    return rows.map((r) => ({ serial: r.serial, spiffeId: r.spiffe_id, kind: r.kind, entryId: r.entry_id, agentId: r.agent_id, authorityId: r.authority_id, notAfter: r.not_after }));
  }

  /** Mark one SVID revoked, with the next revocation sequence number; false if it already was. */
  markRevoked(serial: string, at: number, reason: RevocationReason): boolean {
    return (
      this.db
        .prepare(
          `UPDATE issued_svids SET revoked_at = ?, revocation_reason = ?,
             revocation_seq = (SELECT COALESCE(MAX(revocation_seq), 0) + 1 FROM issued_svids WHERE revocation_seq IS NOT NULL)
           WHERE serial = ? AND revoked_at IS NULL`,
        )
        .run(at, reason, serial).changes === 1
    );
  }

  /** The highest revocation sequence number so far (0: nothing revoked). */
  lastRevocationSeq(): number {
    return (this.db.prepare('SELECT COALESCE(MAX(revocation_seq), 0) AS seq FROM issued_svids WHERE revocation_seq IS NOT NULL').get() as { seq: number }).seq;
  }

  /** Revoked SVIDs of an authority whose certificates were still valid after `validAfter` (ms), by serial. */
  revokedSignedBy(authorityId: string, validAfter: number): RevokedEntry[] {
    return (
      this.db
        .prepare('SELECT serial, revoked_at, revocation_reason, not_after, revocation_seq FROM issued_svids WHERE authority_id = ? AND not_after > ? AND revoked_at IS NOT NULL ORDER BY serial')
        .raw()
        .all(authorityId, validAfter) as RevokedRow[]
    ).map(toRevokedEntry);
  }

  /** Revocations (of every authority) with a sequence number above `afterSeq`, in sequence order. */
  revokedSince(afterSeq: number): (RevokedEntry & { authorityId: string })[] {
    const rows = this.db
      .prepare('SELECT serial, revoked_at, revocation_reason, not_after, revocation_seq, authority_id FROM issued_svids WHERE revocation_seq > ? ORDER BY revocation_seq')
      .raw()
      .all(afterSeq) as [...RevokedRow, string][];
    return rows.map((r) => ({ ...toRevokedEntry(r.slice(0, 5) as RevokedRow), authorityId: r[5] }));
  }
}
