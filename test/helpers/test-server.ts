import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { systemClock, type Clock } from '../../src/common/clock.js';
import { silentLogger, type Logger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig, type ServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';

export interface TestServer {
  server: RunningServer;
  config: ServerConfig;
  dataDir: string;
  http: ReturnType<typeof supertest>;
  adminToken: string;
  viewerToken: string;
  close(): Promise<void>;
}

export function tempDir(prefix = 'sigil-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** An in-process server on a real SQLite file in a temp dir, driven through supertest (no port). */
export async function startTestServer(options: { clock?: Clock; env?: Record<string, string>; dataDir?: string; log?: Logger } = {}): Promise<TestServer> {
  const dataDir = options.dataDir ?? tempDir();
  const config = loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: dataDir, SIGIL_LOG_LEVEL: 'silent', ...options.env });
  const server = await startServer(config, { clock: options.clock ?? systemClock, log: options.log ?? silentLogger, keyManager: new MemoryKeyManager(), listen: false });
  const adminToken = server.bootstrapToken ?? '';
  const viewerToken = generateSecretToken('sat');
  server.store.adminTokens.create(hashSecretToken(viewerToken), 'test-viewer', 'viewer', Date.now());
  return {
    server,
    config,
    dataDir,
    http: supertest(server.app),
    adminToken,
    viewerToken,
    async close() {
      await server.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
