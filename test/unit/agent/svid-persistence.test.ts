import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../../src/agent/agent.js';
import { loadAgentConfig } from '../../../src/agent/config.js';
import { silentLogger } from '../../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../../src/common/secrets.js';
import { MemoryKeyManager } from '../../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { tempDir } from '../../helpers/test-server.js';

// Issue 15 item 7: an agent restart re-issued every SVID (10k SVIDs: ~90 s, ~100 server
// CPU-seconds, +10k issuance rows each time). The cache is now kept on disk.

const entryCount = 25;

describe('the workload SVID cache survives an agent restart', () => {
  let dir: string;
  let server: RunningServer;
  let agent: RunningAgent | undefined;
  let originalSerials = new Set<string>();
  const agentConfig = (joinToken?: string) =>
    loadAgentConfig(undefined, {}, {
      trust_domain: 'example.org',
      server_address: server.agentApi?.address,
      data_dir: join(dir, 'agent'),
      socket_path: join(dir, 'api.sock'),
      join_token: joinToken,
      insecure_bootstrap: true,
      health_addr: '127.0.0.1:0',
    });
  const issuedRows = () => (server.store.db.prepare("SELECT COUNT(*) AS n FROM issued_svids WHERE kind = 'workload'").get() as { n: number }).n;

  before(async () => {
    dir = tempDir('sigil-svid-persistence-');
    server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), { log: silentLogger, keyManager: new MemoryKeyManager() });
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), 'test', Date.now() + 600_000, Date.now());
    agent = await startAgent(agentConfig(token), { log: silentLogger });
    const parentId = agent.node.identity?.spiffeId as string;
    const now = Date.now();
    server.store.transaction(() => {
      for (let i = 0; i < entryCount; i++) {
        const e = server.store.entries.create({ spiffeId: `spiffe://example.org/w/${i}`, parentId, selectors: [{ type: 'unix', value: `uid:${1000 + i}` }], dnsNames: [], x509SvidTtl: 3600, jwtSvidTtl: 300, hint: '', admin: false }, now);
        server.store.events.append(now, 'entry.created', e.id);
      }
    });
    await until(() => agent?.svids.size === entryCount, 'every SVID');
    originalSerials = new Set(agent.svids.all().map((s) => s.serial));
  });

  after(async () => {
    await agent?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('files are 0600 in a 0700 folder, one per entry', async () => {
    await agent?.close();
    const svidDir = join(dir, 'agent', 'svids');
    assert.equal(statSync(svidDir).mode & 0o777, 0o700);
    const files = readdirSync(svidDir).filter((f) => f !== 'owner.json');
    assert.equal(files.length, entryCount);
    for (const f of files) assert.equal(statSync(join(svidDir, f)).mode & 0o777, 0o600, f);
  });

  it('a restart serves the same SVIDs at once (before it syncs) and issues none again', async () => {
    const rowsBefore = issuedRows();
    agent = await startAgent(agentConfig(), { log: silentLogger });
    assert.equal(agent.svids.size, entryCount, 'held as soon as the agent starts');
    assert.deepEqual(new Set(agent.svids.all().map((s) => s.serial)), originalSerials, 'the very SVIDs of the last run');
    await until(() => agent?.sync.synced === true && agent.readiness().ready, 'synced and ready');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(issuedRows(), rowsBefore, 'no SVID was issued again');
    assert.deepEqual(new Set(agent.svids.all().map((s) => s.serial)), originalSerials);
  });

  it('a file that cannot be read (a crash mid-write) is removed and only that SVID is issued again', async () => {
    await agent?.close();
    const svidDir = join(dir, 'agent', 'svids');
    const victim = readdirSync(svidDir).find((f) => f !== 'owner.json') as string;
    writeFileSync(join(svidDir, victim), '{"version":1,"entry":', { mode: 0o600 });
    const rowsBefore = issuedRows();
    agent = await startAgent(agentConfig(), { log: silentLogger });
    assert.equal(agent.svids.size, entryCount - 1);
    await until(() => agent?.svids.size === entryCount, 'the one SVID issued again');
    assert.equal(issuedRows(), rowsBefore + 1);
  });

  it('a cache left by another agent identity is dropped whole', async () => {
    await agent?.close();
    writeFileSync(join(dir, 'agent', 'svids', 'owner.json'), JSON.stringify({ spiffe_id: 'spiffe://example.org/sigil/agent/join_token/someone-else' }), { mode: 0o600 });
    agent = await startAgent(agentConfig(), { log: silentLogger });
    assert.equal(agent.svids.size, 0);
    await until(() => agent?.svids.size === entryCount, 'SVIDs issued for this identity');
  });
});

async function until(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
