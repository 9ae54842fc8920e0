import type { Db } from './database.js';
import { WebhookOutbox } from './webhook-outbox.js';

export interface EventRecord {
  id: number;
  at: number;
  type: string;
  subject: string;
  payload: Record<string, unknown>;
}

interface EventRow {
  id: number;
  at: number;
  type: string;
  subject: string;
  payload: string;
}

/**
 * The event log ("one spine"). Ids come from AUTOINCREMENT inside the writer's transaction, so
 * with one writer they increase without gaps: a rolled-back change rolls its id back too.
 */
export class EventLog {
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;

  constructor(
    private readonly db: Db,
    private readonly webhookOutbox: WebhookOutbox = new WebhookOutbox(db),
  ) {}

  /** Also queues the event for every webhook subscription that wants it (the outbox), in the caller's transaction. */
  append(at: number, type: string, subject: string, payload: Record<string, unknown> = {}): number {
    const info = this.db.prepare('INSERT INTO events (at, type, subject, payload) VALUES (?, ?, ?, ?)').run(at, type, subject, JSON.stringify(payload));
    const id = Number(info.lastInsertRowid);
    this.webhookOutbox.enqueueForEvent(id, type, at);
    this.scheduleNotify();
    return id;
  }

  /**
   * Called (once per burst) after new events may have been committed. Deferred with setImmediate:
   * appends happen inside synchronous transactions, so by then the transaction has committed or
   * rolled back, and listeners read only committed rows.
   */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private scheduleNotify(): void {
    if (this.notifyScheduled || this.listeners.size === 0) return;
    this.notifyScheduled = true;
    setImmediate(() => {
      this.notifyScheduled = false;
      for (const listener of [...this.listeners]) listener();
    });
  }

  listAfter(afterId: number, limit: number, types?: readonly string[]): EventRecord[] {
    const rows = (types && types.length
      ? this.db.prepare(`SELECT * FROM events WHERE id > ? AND type IN (SELECT value FROM json_each(?)) ORDER BY id LIMIT ?`).all(afterId, JSON.stringify(types), limit)
      : this.db.prepare('SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit)) as EventRow[];
    return rows.map((r) => ({ ...r, payload: JSON.parse(r.payload) as Record<string, unknown> }));
  }

  lastId(): number {
    const row = this.db.prepare('SELECT MAX(id) AS id FROM events').get() as { id: number | null };
    return row.id ?? 0;
  }
}
