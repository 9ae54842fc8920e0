import type { Db } from './database.js';
import { toPage, decodePageToken, type Page, type PageRequest } from './pagination.js';

export interface AuditRecord {
  id: number;
  at: number;
  actor: string;
  action: string;
  target: string;
  result: 'ok' | 'error';
  detail: Record<string, unknown>;
}

export interface AuditInput {
  actor: string;
  action: string;
  target: string;
  result: 'ok' | 'error';
  detail?: Record<string, unknown>;
}

export interface AuditFilter {
  actor?: string | undefined;
  action?: string | undefined;
  result?: 'ok' | 'error' | undefined;
}

interface AuditRow extends Omit<AuditRecord, 'detail'> {
  rowid: number;
  detail: string;
}

export class AuditLog {
  constructor(private readonly db: Db) {}

  record(at: number, input: AuditInput): void {
    this.db
      .prepare('INSERT INTO audit_log (at, actor, action, target, result, detail) VALUES (?, ?, ?, ?, ?, ?)')
      .run(at, input.actor, input.action, input.target, input.result, JSON.stringify(input.detail ?? {}));
  }

  list(filter: AuditFilter, page: PageRequest): Page<AuditRecord> {
    const rows = this.db
      .prepare(
        `SELECT id AS rowid, * FROM audit_log
         WHERE id > @after AND (@actor IS NULL OR actor = @actor) AND (@action IS NULL OR action = @action) AND (@result IS NULL OR result = @result)
         ORDER BY id LIMIT @limit`,
      )
      .all({ after: decodePageToken(page.pageToken), actor: filter.actor ?? null, action: filter.action ?? null, result: filter.result ?? null, limit: page.pageSize + 1 }) as AuditRow[];
    return toPage(rows, page.pageSize, ({ rowid: _rowid, detail, ...rest }) => ({ ...rest, detail: JSON.parse(detail) as Record<string, unknown> }));
  }
}
