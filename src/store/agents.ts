import { notFound } from '../common/errors.js';
import type { Db } from './database.js';
import { decodePageToken, toPage, type Page, type PageRequest } from './pagination.js';

/** What an agent last said about itself (ReportStatus). */
export interface AgentReportedStatus {
  revocationProblems: string[];
  entries: number;
  entriesWithoutSvid: number;
  maxSvids: number;
  cachedSvids: number;
  withheldCrls: number;
}

export interface AgentRecord {
  id: string;
  spiffeId: string;
  attestationType: string;
  svidSerial: string | null;
  svidNotAfter: number | null;
  banned: boolean;
  createdAt: number;
  updatedAt: number;
  lastSeenAt: number | null;
  reportedStatus: AgentReportedStatus | null;
  statusReportedAt: number | null;
}

interface AgentRow {
  rowid: number;
  id: string;
  spiffe_id: string;
  attestation_type: string;
  svid_serial: string | null;
  svid_not_after: number | null;
  banned: number;
  created_at: number;
  updated_at: number;
  last_seen_at: number | null;
  reported_status: string | null;
  status_reported_at: number | null;
}

const toAgent = (r: AgentRow): AgentRecord => ({
  id: r.id,
  spiffeId: r.spiffe_id,
  attestationType: r.attestation_type,
  svidSerial: r.svid_serial,
  svidNotAfter: r.svid_not_after,
  banned: r.banned === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  lastSeenAt: r.last_seen_at,
  reportedStatus: r.reported_status === null ? null : (JSON.parse(r.reported_status) as AgentReportedStatus),
  statusReportedAt: r.status_reported_at,
});

export class AgentStore {
  constructor(private readonly db: Db) {}

  insert(id: string, spiffeId: string, attestationType: string, now: number): AgentRecord {
    this.db.prepare('INSERT INTO agents (id, spiffe_id, attestation_type, created_at, updated_at) VALUES (?, ?, ?, ?, ?)').run(id, spiffeId, attestationType, now, now);
    return this.getOrThrow(id);
  }

  get(id: string): AgentRecord | undefined {
    const row = this.db.prepare('SELECT rowid, * FROM agents WHERE id = ?').get(id) as AgentRow | undefined;
    return row ? toAgent(row) : undefined;
  }

  getOrThrow(id: string): AgentRecord {
    const agent = this.get(id);
    if (!agent) throw notFound(`agent ${id} not found`);
    return agent;
  }

  recordSvid(id: string, serial: string, notAfter: number, now: number): void {
    this.db.prepare('UPDATE agents SET svid_serial = ?, svid_not_after = ?, updated_at = ?, last_seen_at = ? WHERE id = ?').run(serial, notAfter, now, now, id);
  }

  recordStatus(id: string, status: AgentReportedStatus, now: number): void {
    this.db.prepare('UPDATE agents SET reported_status = ?, status_reported_at = ?, last_seen_at = ? WHERE id = ?').run(JSON.stringify(status), now, now, id);
  }

  touch(id: string, now: number): void {
    this.db.prepare('UPDATE agents SET last_seen_at = ? WHERE id = ?').run(now, id);
  }

  ban(id: string, now: number): AgentRecord {
    this.getOrThrow(id);
    this.db.prepare('UPDATE agents SET banned = 1, updated_at = ? WHERE id = ?').run(now, id);
    return this.getOrThrow(id);
  }

  /** Eviction forgets the agent: it may attest again with a new join token. */
  delete(id: string): AgentRecord {
    const agent = this.getOrThrow(id);
    this.db.prepare('DELETE FROM agents WHERE id = ?').run(id);
    return agent;
  }

  /** Not banned, and not seen (synced, renewed, or attested) since `before`. */
  staleSince(before: number): AgentRecord[] {
    const rows = this.db.prepare('SELECT rowid, * FROM agents WHERE banned = 0 AND COALESCE(last_seen_at, created_at) < ? ORDER BY rowid').all(before) as AgentRow[];
    return rows.map(toAgent);
  }

  getBySpiffeId(spiffeId: string): AgentRecord | undefined {
    const row = this.db.prepare('SELECT rowid, * FROM agents WHERE spiffe_id = ?').get(spiffeId) as AgentRow | undefined;
    return row ? toAgent(row) : undefined;
  }

  list(filter: { banned?: boolean | undefined }, page: PageRequest): Page<AgentRecord> {
    const rows = this.db
      .prepare('SELECT rowid, * FROM agents WHERE rowid > @after AND (@banned IS NULL OR banned = @banned) ORDER BY rowid LIMIT @limit')
      .all({ after: decodePageToken(page.pageToken), banned: filter.banned === undefined ? null : filter.banned ? 1 : 0, limit: page.pageSize + 1 }) as AgentRow[];
    return toPage(rows, page.pageSize, toAgent);
  }
}
