import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { defaultMigrationsDir, migrate, openDatabase, readMigrations } from '../../../src/store/database.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-migrations-');
after(() => rmSync(dir, { recursive: true, force: true }));

const tables = (path: string) =>
  (openDatabase(path).prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name").all() as { name: string }[]).map((r) => r.name);

test('migrations apply in order from an empty file and are recorded', () => {
  const path = join(dir, 'empty.db');
  const db = openDatabase(path);
  const applied = migrate(db, readMigrations(defaultMigrationsDir));
  assert.deepEqual(applied, readMigrations(defaultMigrationsDir).map((m) => m.version));
  const recorded = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
  assert.deepEqual(recorded.map((r) => r.version), applied);
  assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
  assert.equal(db.pragma('foreign_keys', { simple: true }), 1);
  assert.deepEqual(migrate(db, readMigrations(defaultMigrationsDir)), [], 'a second run applies nothing');
  db.close();
  for (const t of ['entries', 'entry_selectors', 'authorities', 'agents', 'join_tokens', 'issued_svids', 'admin_tokens', 'events', 'audit_log', 'settings', 'schema_migrations']) {
    assert.ok(tables(path).includes(t), `table ${t} exists`);
  }
});

test('every earlier schema upgrades to the newest, keeping its rows', () => {
  const all = readMigrations(defaultMigrationsDir);
  for (let upTo = 0; upTo < all.length; upTo++) {
    const path = join(dir, `from-${upTo}.db`);
    const db = openDatabase(path);
    migrate(db, all.slice(0, upTo));
    if (upTo >= 1) db.prepare("INSERT INTO settings (key, value) VALUES ('marker', 'kept')").run();
    assert.deepEqual(migrate(db, all), all.slice(upTo).map((m) => m.version));
    if (upTo >= 1) assert.equal((db.prepare("SELECT value FROM settings WHERE key = 'marker'").get() as { value: string }).value, 'kept');
    db.close();
  }
});

test('a later migration runs on an existing database; a failing one rolls back whole', () => {
  const migDir = join(dir, 'migs');
  mkdirSync(migDir);
  for (const m of readMigrations(defaultMigrationsDir)) copyFileSync(join(defaultMigrationsDir, m.name), join(migDir, m.name));
  const next = String(readMigrations(defaultMigrationsDir).length + 1).padStart(4, '0');
  const db = openDatabase(join(dir, 'later.db'));
  migrate(db, readMigrations(migDir));
  writeFileSync(join(migDir, `${next}_broken.sql`), 'CREATE TABLE half_done (x INTEGER);\nINSERT INTO no_such_table VALUES (1);\n');
  assert.throws(() => migrate(db, readMigrations(migDir)), /no such table/);
  assert.equal((db.prepare("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 'half_done'").get() as { n: number }).n, 0);
  writeFileSync(join(migDir, `${next}_good.sql`), 'CREATE TABLE later_table (x INTEGER);\n');
  rmSync(join(migDir, `${next}_broken.sql`));
  assert.deepEqual(migrate(db, readMigrations(migDir)), [Number(next)]);
  db.close();
});

test('a gap in migration numbers is refused', () => {
  const gapDir = join(dir, 'gap');
  mkdirSync(gapDir);
  writeFileSync(join(gapDir, '0001_a.sql'), 'SELECT 1;');
  writeFileSync(join(gapDir, '0003_c.sql'), 'SELECT 1;');
  assert.throws(() => readMigrations(gapDir), /expected version 2 but found 0003_c\.sql/);
});

test('a database newer than this build is refused', () => {
  const db = openDatabase(join(dir, 'newer.db'));
  migrate(db, readMigrations(defaultMigrationsDir));
  db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future.sql', 0)").run();
  assert.throws(() => migrate(db, readMigrations(defaultMigrationsDir)), /schema version 999 is newer/);
  db.close();
});
