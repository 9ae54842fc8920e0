import assert from 'node:assert/strict';
import { readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningAgent } from '../../../src/agent/agent.js';
import type { RunningServer } from '../../../src/server/server.js';
import { createEntry, startInProcessAgent, startInProcessServer } from '../../helpers/in-process-sigil.js';
import { tempDir } from '../../helpers/test-server.js';
import { until } from '../../helpers/until.js';

// Issue 15 item 7: an agent restart re-issued every SVID (10k SVIDs: ~90 s, ~100 server
// CPU-seconds, +10k issuance rows each time). The cache is now kept on disk.

const entryCount = 25;

describe('the workload SVID cache survives an agent restart', () => {
  let dir: string;
  let server: RunningServer;
  let agent: RunningAgent | undefined;
  let originalSerials = new Set<string>();
  const restartAgent = () => startInProcessAgent(server, dir, {}, null);
  const issuedRows = () => (server.store.db.prepare("SELECT COUNT(*) AS n FROM issued_svids WHERE kind = 'workload'").get() as { n: number }).n;

  before(async () => {
    dir = tempDir('sigil-svid-persistence-');
    server = await startInProcessServer(dir);
    agent = await startInProcessAgent(server, dir);
    const parentId = agent.node.identity?.spiffeId as string;
    for (let i = 0; i < entryCount; i++) createEntry(server, `spiffe://example.org/w/${i}`, parentId, 1000 + i);
    await until(() => agent?.svids.size === entryCount, 'every SVID', 15_000);
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
    agent = await restartAgent();
    assert.equal(agent.svids.size, entryCount, 'held as soon as the agent starts');
    assert.deepEqual(new Set(agent.svids.all().map((s) => s.serial)), originalSerials, 'the very SVIDs of the last run');
    await until(() => agent?.sync.synced === true && agent.readiness().ready, 'synced and ready', 15_000);
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
    agent = await restartAgent();
    assert.equal(agent.svids.size, entryCount - 1);
    await until(() => agent?.svids.size === entryCount, 'the one SVID issued again', 15_000);
    assert.equal(issuedRows(), rowsBefore + 1);
  });

  it('a cache left by another agent identity is dropped whole', async () => {
    await agent?.close();
    writeFileSync(join(dir, 'agent', 'svids', 'owner.json'), JSON.stringify({ spiffe_id: 'spiffe://example.org/sigil/agent/join_token/someone-else' }), { mode: 0o600 });
    agent = await restartAgent();
    assert.equal(agent.svids.size, 0);
    await until(() => agent?.svids.size === entryCount, 'SVIDs issued for this identity', 15_000);
  });
});
