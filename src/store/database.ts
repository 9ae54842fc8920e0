import Database from 'better-sqlite3';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Db = Database.Database;

/** The migrations shipped with Sigil (dist/src/store -> ../../../migrations). */
export const defaultMigrationsDir = fileURLToPath(new URL('../../../migrations/', import.meta.url));

const migrationFile = /^(\d{4})_[a-z0-9_]+\.sql$/;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function readMigrations(dir: string): Migration[] {
  const migrations = readdirSync(dir)
    .filter((name) => migrationFile.test(name))
    .sort()
    .map((name) => ({ version: Number(name.slice(0, 4)), name, sql: readFileSync(join(dir, name), 'utf8') }));
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migrations: expected version ${i + 1} but found ${m.name} (versions must be 0001, 0002, ... with no gaps)`);
  });
  return migrations;
}

/** Open (or create) the SQLite file with the settings every Sigil process relies on. */
export function openDatabase(path: string): Db {
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('foreign_keys = ON');
  // Other processes (the CLI reading, a second server by mistake) wait instead of failing at once.
  db.pragma('busy_timeout = 5000');
  cachePreparedStatements(db);
  return db;
}

/** Distinct SQL texts kept compiled; the stores use a few dozen. */
const maxCachedStatements = 1000;

/**
 * The stores call `db.prepare(sql)` where they use a statement; compiling it each time cost more
 * than running it (a third of a signing request's CPU). Each SQL text is compiled once and
 * handed back with its modes reset (raw, pluck and expand are per statement and sticky).
 */
function cachePreparedStatements(db: Db): void {
  const prepare = db.prepare.bind(db);
  const cache = new Map<string, Database.Statement>();
  db.prepare = ((source: string) => {
    const cached = cache.get(source);
    if (cached) {
      if (cached.reader) cached.raw(false).pluck(false).expand(false);
      return cached;
    }
    const statement = prepare(source);
    if (cache.size < maxCachedStatements) cache.set(source, statement);
    return statement;
  }) as Db['prepare'];
}

/** Apply, in order and each in its own transaction, every migration not yet recorded. Returns the versions applied. */
export function migrate(db: Db, migrations: Migration[], now: () => number = Date.now): number[] {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)');
  const applied = new Set((db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version));
  const newest = Math.max(0, ...applied);
  const known = Math.max(0, ...migrations.map((m) => m.version));
  if (newest > known) {
    throw new Error(`database schema version ${newest} is newer than this Sigil build knows (${known}); upgrade Sigil`);
  }
  const done: number[] = [];
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(m.version, m.name, now());
    })();
    done.push(m.version);
  }
  return done;
}
