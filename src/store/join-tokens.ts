import { randomUUID } from 'node:crypto';
import { notFound } from '../common/errors.js';
import type { Db } from './database.js';
import { decodePageToken, toPage, type Page, type PageRequest } from './pagination.js';

export interface JoinToken {
  id: string;
  name: string;
  expiresAt: number;
  createdAt: number;
  usedAt: number | null;
  usedBy: string | null;
}

interface JoinTokenRow {
  rowid: number;
  id: string;
  name: string;
  expires_at: number;
  created_at: number;
  used_at: number | null;
  used_by: string | null;
}

const toJoinToken = (r: JoinTokenRow): JoinToken => ({ id: r.id, name: r.name, expiresAt: r.expires_at, createdAt: r.created_at, usedAt: r.used_at, usedBy: r.used_by });

export type JoinTokenRedemption = { ok: true; token: JoinToken } | { ok: false; reason: 'unknown' | 'expired' | 'used' };

export class JoinTokenStore {
  constructor(private readonly db: Db) {}

  create(tokenHash: string, name: string, expiresAt: number, now: number): JoinToken {
    const id = randomUUID();
    this.db.prepare('INSERT INTO join_tokens (id, token_hash, name, expires_at, created_at) VALUES (?, ?, ?, ?, ?)').run(id, tokenHash, name, expiresAt, now);
    return this.getOrThrow(id);
  }

  getOrThrow(id: string): JoinToken {
    const row = this.db.prepare('SELECT rowid, * FROM join_tokens WHERE id = ?').get(id) as JoinTokenRow | undefined;
    if (!row) throw notFound(`join token ${id} not found`);
    return toJoinToken(row);
  }

  list(page: PageRequest): Page<JoinToken> {
    const rows = this.db.prepare('SELECT rowid, * FROM join_tokens WHERE rowid > ? ORDER BY rowid LIMIT ?').all(decodePageToken(page.pageToken), page.pageSize + 1) as JoinTokenRow[];
    return toPage(rows, page.pageSize, toJoinToken);
  }

  delete(id: string): JoinToken {
    const token = this.getOrThrow(id);
    this.db.prepare('DELETE FROM join_tokens WHERE id = ?').run(id);
    return token;
  }

  /** One use: marks the token used by `agentId` if it is known, unused and unexpired. */
  redeem(tokenHash: string, agentId: string, now: number): JoinTokenRedemption {
    const row = this.db.prepare('SELECT rowid, * FROM join_tokens WHERE token_hash = ?').get(tokenHash) as JoinTokenRow | undefined;
    if (!row) return { ok: false, reason: 'unknown' };
    if (row.used_at !== null) return { ok: false, reason: 'used' };
    if (row.expires_at <= now) return { ok: false, reason: 'expired' };
    this.db.prepare('UPDATE join_tokens SET used_at = ?, used_by = ? WHERE id = ? AND used_at IS NULL').run(now, agentId, row.id);
    return { ok: true, token: this.getOrThrow(row.id) };
  }
}
