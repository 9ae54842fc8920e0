import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import { loadAgentConfig, type RawAgentConfig } from '../../src/agent/config.js';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

/**
 * A server and an agent in this process (real SQLite, real TLS agent API, real unix socket),
 * for tests that reach into either one. Trust domain example.org; the agent in `<dir>/agent`
 * with its socket at `<dir>/sock/api.sock`.
 */
export async function startInProcessServer(dir: string): Promise<RunningServer> {
  return startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
    log: silentLogger,
    keyManager: new MemoryKeyManager(),
  });
}

/** A one-use join token valid for ten minutes. */
export function joinToken(server: RunningServer): string {
  const token = generateSecretToken('sjt');
  server.store.joinTokens.create(hashSecretToken(token), 'test', Date.now() + 600_000, Date.now());
  return token;
}

/** An agent of `server`, attested with a join token unless `joinWith` is null (it then needs its saved identity). */
export function startInProcessAgent(server: RunningServer, dir: string, overrides: Partial<Record<keyof RawAgentConfig, unknown>> = {}, joinWith: string | null = joinToken(server)): Promise<RunningAgent> {
  return startAgent(
    loadAgentConfig(undefined, {}, {
      trust_domain: 'example.org',
      server_address: server.agentApi?.address,
      data_dir: join(dir, 'agent'),
      socket_path: join(dir, 'sock', 'api.sock'),
      insecure_bootstrap: true,
      health_addr: '127.0.0.1:0',
      ...(joinWith !== null && { join_token: joinWith }),
      ...overrides,
    }),
    { log: silentLogger },
  );
}

/** Create an entry straight in the store with its event, as the REST API would; returns its id. */
export function createEntry(server: RunningServer, spiffeId: string, parentId: string, uid: number, x509SvidTtl = 3600): string {
  const now = Date.now();
  return server.store.transaction(() => {
    const entry = server.store.entries.create({ spiffeId, parentId, selectors: [{ type: 'unix', value: `uid:${uid}` }], dnsNames: [], x509SvidTtl, jwtSvidTtl: 300, hint: '', admin: false }, now);
    server.store.events.append(now, 'entry.created', entry.id);
    return entry.id;
  });
}

/** Delete an entry straight in the store with its event. */
export function deleteEntry(server: RunningServer, id: string): void {
  const now = Date.now();
  server.store.transaction(() => {
    server.store.entries.delete(id);
    server.store.events.append(now, 'entry.deleted', id);
  });
}
