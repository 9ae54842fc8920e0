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
