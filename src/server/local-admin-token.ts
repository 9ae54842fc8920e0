import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecretToken, hashSecretToken } from '../common/secrets.js';
import type { AdminRole } from '../store/admin-tokens.js';
import { openStore } from '../store/store.js';

/**
 * Make an admin API token by writing to the server's database directly: the way back in for
 * whoever can read the data directory (the bootstrap token file was lost, or a viewer token is
 * needed for a script). Safe while the server runs: SQLite serializes the two writers.
 */
export function createLocalAdminToken(dataDir: string, name: string, role: AdminRole, now: number): string {
  const path = join(dataDir, 'sigil.db');
  if (!existsSync(path)) throw new Error(`no Sigil database at ${path}: is data_dir right?`);
  const store = openStore(path);
  try {
    const token = generateSecretToken('sat');
    store.transaction(() => {
      const created = store.adminTokens.create(hashSecretToken(token), name, role, now);
      store.audit.record(now, { actor: 'local', action: 'admin_token.create', target: name, result: 'ok', detail: { admin_token_id: created.id, role, via: 'data_dir' } });
    });
    return token;
  } finally {
    store.close();
  }
}
