import { createHash } from 'node:crypto';
import type { Store } from '../../src/store/store.js';

/** A hash of every row of every table, by table: two equal snapshots mean nothing was written. */
export type StoreSnapshot = Map<string, { rows: number; hash: string }>;

/**
 * Tables a refused request may write: the audit log (a refusal is recorded there on purpose).
 * Everything else must be byte for byte as it was.
 */
export const refusalMayWrite = ['audit_log'];

export function snapshotStore(store: Store, except: readonly string[] = refusalMayWrite): StoreSnapshot {
  const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((t) => t.name).filter((t) => !except.includes(t));
  const snapshot: StoreSnapshot = new Map();
  for (const table of tables) {
    const rows = (store.db.prepare(`SELECT * FROM "${table}"`).all() as Record<string, unknown>[]).map((row) =>
      JSON.stringify(row, (_key, value: unknown) => (Buffer.isBuffer(value) || value instanceof Uint8Array ? Buffer.from(value).toString('hex') : typeof value === 'bigint' ? value.toString() : value)),
    );
    rows.sort();
    snapshot.set(table, { rows: rows.length, hash: createHash('sha256').update(rows.join('\n')).digest('hex') });
  }
  return snapshot;
}

/** Names of the tables that differ, with their row counts before and after ('' when equal). */
export function changedTables(before: StoreSnapshot, after: StoreSnapshot): string {
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names]
    .filter((n) => before.get(n)?.hash !== after.get(n)?.hash)
    .map((n) => `${n} (${before.get(n)?.rows ?? 0} -> ${after.get(n)?.rows ?? 0} rows)`)
    .join(', ');
}

interface WriteCounter {
  changes: number;
  lastAuditId: number;
}

/** Rows written so far on the store's connection (SQLite total_changes(), rolled-back ones too) and the last audit id. */
function writeCounter(store: Store): WriteCounter {
  return store.db.prepare('SELECT total_changes() AS changes, (SELECT coalesce(max(id), 0) FROM audit_log) AS lastAuditId').get() as WriteCounter;
}

/** Rows written between two counters other than appended audit rows. */
const writesBesideAudit = (before: WriteCounter, after: WriteCounter) => after.changes - before.changes - (after.lastAuditId - before.lastAuditId);

/**
 * "Did this request change the store (audit rows aside)?" for thousands of requests: a snapshot
 * hashes every table, so it is taken only when the connection's write counter says something
 * may have changed. Only for an in-process server, whose store shares this connection.
 */
export class StoreChangeWatch {
  private counter: WriteCounter;
  private snapshot: StoreSnapshot;

  constructor(private readonly store: Store) {
    this.counter = writeCounter(store);
    this.snapshot = snapshotStore(store);
  }

  /** Call before a request: the state it starts from. */
  mark(): void {
    const now = writeCounter(this.store);
    if (writesBesideAudit(this.counter, now) !== 0) this.snapshot = snapshotStore(this.store);
    this.counter = now;
  }

  /** After the request: '' when nothing but audit rows changed since mark(), else the tables that did. */
  changedSinceMark(): string {
    if (writesBesideAudit(this.counter, writeCounter(this.store)) === 0) return '';
    // Something was written, maybe in a transaction that rolled back: compare the contents.
    return changedTables(this.snapshot, snapshotStore(this.store));
  }
}
