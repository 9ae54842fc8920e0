import { randomUUID } from 'node:crypto';
import { notFound } from '../common/errors.js';
import type { Db } from './database.js';

export type AdminRole = 'admin' | 'viewer';

export interface AdminToken {
  id: string;
  name: string;
  role: AdminRole;
  createdAt: number;
  lastUsedAt: number | null;
}

interface AdminTokenRow {
  id: string;
  name: string;
  role: AdminRole;
  created_at: number;
  last_used_at: number | null;
}

const toAdminToken = (r: AdminTokenRow): AdminToken => ({ id: r.id, name: r.name, role: r.role, createdAt: r.created_at, lastUsedAt: r.last_used_at });

export class AdminTokenStore {
  constructor(private readonly db: Db) {}

  create(tokenHash: string, name: string, role: AdminRole, now: number): AdminToken {
    const id = randomUUID();
    this.db.prepare('INSERT INTO admin_tokens (id, name, token_hash, role, created_at) VALUES (?, ?, ?, ?, ?)').run(id, name, tokenHash, role, now);
    return this.getOrThrow(id);
  }

  getOrThrow(id: string): AdminToken {
    const row = this.db.prepare('SELECT * FROM admin_tokens WHERE id = ?').get(id) as AdminTokenRow | undefined;
    if (!row) throw notFound(`admin token ${id} not found`);
    return toAdminToken(row);
  }

  findByHash(tokenHash: string): AdminToken | undefined {
    const row = this.db.prepare('SELECT * FROM admin_tokens WHERE token_hash = ?').get(tokenHash) as AdminTokenRow | undefined;
    return row ? toAdminToken(row) : undefined;
  }

  list(): AdminToken[] {
    return (this.db.prepare('SELECT * FROM admin_tokens ORDER BY rowid').all() as AdminTokenRow[]).map(toAdminToken);
  }

  count(): number {
    return (this.db.prepare('SELECT COUNT(*) AS n FROM admin_tokens').get() as { n: number }).n;
  }

  delete(id: string): AdminToken {
    const token = this.getOrThrow(id);
    this.db.prepare('DELETE FROM admin_tokens WHERE id = ?').run(id);
    return token;
  }

  touch(id: string, now: number): void {
    this.db.prepare('UPDATE admin_tokens SET last_used_at = ? WHERE id = ?').run(now, id);
  }
}
