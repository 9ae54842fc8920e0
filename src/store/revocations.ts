import type { RevocationReason } from '../pki/crl.js';
import type { Db } from './database.js';
import type { SvidKind } from './issued-svids.js';

/** Which issued SVIDs a revocation is about. */
export type RevocationSelector = { serial: string } | { spiffeId: string } | { entryId: string } | { agentId: string };

/** One line of a CRL. */
export interface RevokedEntry {
  serial: string;
  revokedAt: number;
  reason: RevocationReason;
  notAfter: number;
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

interface RevokedRow {
  serial: string;
  revoked_at: number;
  revocation_reason: string | null;
  not_after: number;
}

const selectorColumn = { serial: 'serial', spiffeId: 'spiffe_id', entryId: 'entry_id', agentId: 'agent_id' } as const;

export function selectorKey(selector: RevocationSelector): keyof typeof selectorColumn {
  return Object.keys(selector)[0] as keyof typeof selectorColumn;
}

export function selectorValue(selector: RevocationSelector): string {
  return Object.values(selector)[0] as string;
}

/**
 * Revocation state of issued SVIDs. Every query goes through an index: the selector's (serial,
 * spiffe_id, entry_id, agent_id) to revoke, and the partial index of revoked rows to list a CRL.
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

  /** Mark one SVID revoked; false if it already was. */
  markRevoked(serial: string, at: number, reason: RevocationReason): boolean {
    return this.db.prepare('UPDATE issued_svids SET revoked_at = ?, revocation_reason = ? WHERE serial = ? AND revoked_at IS NULL').run(at, reason, serial).changes === 1;
  }

  /** Revoked SVIDs of an authority whose certificates were still valid after `validAfter` (ms), by serial. */
  revokedSignedBy(authorityId: string, validAfter: number): RevokedEntry[] {
    const rows = this.db
      .prepare('SELECT serial, revoked_at, revocation_reason, not_after FROM issued_svids WHERE authority_id = ? AND not_after > ? AND revoked_at IS NOT NULL ORDER BY serial')
      .all(authorityId, validAfter) as RevokedRow[];
    return rows.map((r) => ({ serial: r.serial, revokedAt: r.revoked_at, reason: (r.revocation_reason ?? 'unspecified') as RevocationReason, notAfter: r.not_after }));
  }
}
