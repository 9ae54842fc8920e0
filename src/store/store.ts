import { AdminTokenStore } from './admin-tokens.js';
import { AgentStore } from './agents.js';
import { AuditLog } from './audit-log.js';
import { AuthorityStore } from './authorities.js';
import { CrlStore } from './crls.js';
import { defaultMigrationsDir, migrate, openDatabase, readMigrations, type Db } from './database.js';
import { EntryStore } from './entries.js';
import { EventLog } from './events.js';
import { IssuedSvidStore } from './issued-svids.js';
import { JoinTokenStore } from './join-tokens.js';
import { RevocationStore } from './revocations.js';
import { RetentionStore } from './retention.js';
import { SettingsStore } from './settings.js';
import { WebhookStore } from './webhooks.js';
import { SvidLifecycleStore } from './svid-lifecycle.js';

/**
 * The SQLite store. better-sqlite3 is synchronous and this process is the only writer, so
 * transactions never interleave: "one writer" holds by construction, and no SQLITE_BUSY arises
 * between our own requests.
 */
export class Store {
  readonly entries: EntryStore;
  readonly authorities: AuthorityStore;
  readonly issuedSvids: IssuedSvidStore;
  readonly revocations: RevocationStore;
  readonly crls: CrlStore;
  readonly joinTokens: JoinTokenStore;
  readonly adminTokens: AdminTokenStore;
  readonly agents: AgentStore;
  readonly events: EventLog;
  readonly audit: AuditLog;
  readonly settings: SettingsStore;
  readonly webhooks: WebhookStore;
  readonly svidLifecycle: SvidLifecycleStore;
  readonly retention: RetentionStore;

  constructor(readonly db: Db) {
    this.entries = new EntryStore(db);
    this.authorities = new AuthorityStore(db);
    this.issuedSvids = new IssuedSvidStore(db);
    this.revocations = new RevocationStore(db);
    this.crls = new CrlStore(db);
    this.joinTokens = new JoinTokenStore(db);
    this.adminTokens = new AdminTokenStore(db);
    this.agents = new AgentStore(db);
    this.events = new EventLog(db);
    this.audit = new AuditLog(db);
    this.settings = new SettingsStore(db);
    this.webhooks = new WebhookStore(db);
    this.svidLifecycle = new SvidLifecycleStore(db);
    this.retention = new RetentionStore(db);
  }

  /** Run `fn` in one transaction (nested calls become savepoints). */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}

export function openStore(path: string, migrationsDir: string = defaultMigrationsDir): Store {
  const db = openDatabase(path);
  migrate(db, readMigrations(migrationsDir));
  return new Store(db);
}
