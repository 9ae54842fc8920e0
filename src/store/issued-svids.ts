import type { Db } from './database.js';
import { decodePageToken, toPage, type Page, type PageRequest } from './pagination.js';

export type SvidKind = 'workload' | 'agent' | 'mint' | 'server';

export interface IssuedSvid {
  serial: string;
  spiffeId: string;
  kind: SvidKind;
  entryId: string | null;
  agentId: string | null;
  authorityId: string;
  notBefore: number;
  notAfter: number;
  createdAt: number;
  revokedAt: number | null;
  revocationReason: string | null;
  /** When a newer SVID of the same entry on the same agent (or of the same agent) replaced it. */
  supersededAt: number | null;
}

export type NewIssuedSvid = Omit<IssuedSvid, 'revokedAt' | 'revocationReason' | 'supersededAt'>;

export interface IssuedSvidFilter {
  spiffeId?: string | undefined;
  entryId?: string | undefined;
  agentId?: string | undefined;
  kind?: SvidKind | undefined;
  /** Only SVIDs whose notAfter is before this instant (ms). */
  expiringBefore?: number | undefined;
  /** Only SVIDs still valid at this instant (ms). */
  validAt?: number | undefined;
  authorityId?: string | undefined;
  /** Only SVIDs that no newer one has replaced. */
  current?: boolean | undefined;
}

interface SvidRow {
  rowid: number;
  serial: string;
  spiffe_id: string;
  kind: SvidKind;
  entry_id: string | null;
  agent_id: string | null;
  authority_id: string;
  not_before: number;
  not_after: number;
  created_at: number;
  revoked_at: number | null;
  revocation_reason: string | null;
  superseded_at: number | null;
}

function toSvid(r: SvidRow): IssuedSvid {
  return {
    serial: r.serial,
    spiffeId: r.spiffe_id,
    kind: r.kind,
    entryId: r.entry_id,
    agentId: r.agent_id,
    authorityId: r.authority_id,
    notBefore: r.not_before,
    notAfter: r.not_after,
    createdAt: r.created_at,
    revokedAt: r.revoked_at,
    revocationReason: r.revocation_reason,
    supersededAt: r.superseded_at,
  };
}

export class IssuedSvidStore {
  constructor(private readonly db: Db) {}

  insert(s: NewIssuedSvid): void {
    this.db
      .prepare(
        `INSERT INTO issued_svids (serial, spiffe_id, kind, entry_id, agent_id, authority_id, not_before, not_after, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(s.serial, s.spiffeId, s.kind, s.entryId, s.agentId, s.authorityId, s.notBefore, s.notAfter, s.createdAt);
  }

  get(serial: string): IssuedSvid | undefined {
    const row = this.db.prepare('SELECT rowid, * FROM issued_svids WHERE serial = ?').get(serial) as SvidRow | undefined;
    return row ? toSvid(row) : undefined;
  }

  list(filter: IssuedSvidFilter, page: PageRequest): Page<IssuedSvid> {
    const rows = this.db
      .prepare(
        `SELECT rowid, * FROM issued_svids
         WHERE rowid > @after
           AND (@spiffeId IS NULL OR spiffe_id = @spiffeId)
           AND (@entryId IS NULL OR entry_id = @entryId)
           AND (@agentId IS NULL OR agent_id = @agentId)
           AND (@kind IS NULL OR kind = @kind)
           AND (@expiringBefore IS NULL OR not_after < @expiringBefore)
           AND (@validAt IS NULL OR (not_after > @validAt AND revoked_at IS NULL))
           AND (@authorityId IS NULL OR authority_id = @authorityId)
           AND (@current = 0 OR superseded_at IS NULL)
         ORDER BY rowid LIMIT @limit`,
      )
      .all({
        after: decodePageToken(page.pageToken),
        spiffeId: filter.spiffeId ?? null,
        entryId: filter.entryId ?? null,
        agentId: filter.agentId ?? null,
        kind: filter.kind ?? null,
        expiringBefore: filter.expiringBefore ?? null,
        validAt: filter.validAt ?? null,
        authorityId: filter.authorityId ?? null,
        current: filter.current ? 1 : 0,
        limit: page.pageSize + 1,
      }) as SvidRow[];
    return toPage(rows, page.pageSize, toSvid);
  }
}
