import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import supertest from 'supertest';
import type { RunningAgent } from '../../../src/agent/agent.js';
import { generateSecretToken, hashSecretToken } from '../../../src/common/secrets.js';
import type { RunningServer } from '../../../src/server/server.js';
import { firstMessage, rawWorkloadClient, securityHeader } from '../../helpers/raw-workload-client.js';
import { createEntry, deleteEntry, startInProcessAgent, startInProcessServer } from '../../helpers/in-process-sigil.js';
import { tempDir } from '../../helpers/test-server.js';
import { until } from '../../helpers/until.js';

// Issue 15 item 3: the 10,001st entry silently got nothing (a stream open with no message and no
// error, one log line). Here max_svids is 2 and the caller's only entry is the third.

describe('more entries than max_svids', () => {
  let dir: string;
  let server: RunningServer;
  let agent: RunningAgent;
  const entryIds: string[] = [];

  const addEntry = (spiffeId: string, uid: number) => entryIds.push(createEntry(server, spiffeId, agent.node.identity?.spiffeId as string, uid));

  before(async () => {
    dir = tempDir('sigil-max-svids-');
    server = await startInProcessServer(dir);
    agent = await startInProcessAgent(server, dir, { max_svids: 2 });
    addEntry('spiffe://example.org/first', 4242);
    addEntry('spiffe://example.org/second', 4343);
    await until(() => agent.svids.size === 2, 'two SVIDs');
    addEntry('spiffe://example.org/third', process.getuid?.() ?? 0);
    await until(() => agent.svids.entriesWithoutSvid === 1, 'the third entry over the limit');
  });

  after(async () => {
    await agent?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a caller whose every entry is over the limit gets ResourceExhausted naming the entry, not a silent wait', async () => {
    const client = rawWorkloadClient(join(dir, 'sock', 'api.sock'));
    try {
      await assert.rejects(firstMessage(client.FetchX509SVID({}, securityHeader()), 5000), (err: grpc.ServiceError) => {
        assert.equal(err.code, grpc.status.RESOURCE_EXHAUSTED);
        assert.match(err.details, /^this agent holds max_svids \(2\) SVIDs already, so spiffe:\/\/example\.org\/third \(entry [0-9a-f-]+\) get none: raise max_svids/);
        return true;
      });
    } finally {
      client.close();
    }
  });

  it('/ready stays 200 with a warning; the metric, the server record and the webhook event say so', async () => {
    const ready = agent.readiness();
    assert.equal(ready.ready, true);
    assert.deepEqual(ready.warnings, ['1 of 3 entries get no SVID: more than max_svids (2)']);
    assert.match(await agent.health.registry.metrics(), /^sigil_agent_entries_without_svid 1$/m);
    const agentId = agent.node.identity?.agentId as string;
    await until(() => server.store.agents.get(agentId)?.reportedStatus?.entriesWithoutSvid === 1, 'the report');
    const adminToken = generateSecretToken('sat');
    server.store.adminTokens.create(hashSecretToken(adminToken), 'test', 'admin', Date.now());
    const shown = await supertest(server.app).get(`/v1/agents/${agentId}`).set('authorization', `Bearer ${adminToken}`).expect(200);
    assert.deepEqual(shown.body.reported_status, { revocation_problems: [], entries: 3, entries_without_svid: 1, max_svids: 2, cached_svids: 2, withheld_crls: 0 });
    const events = server.store.events.listAfter(0, 10_000).filter((e) => e.type === 'agent.svid_limit_reached');
    assert.equal(events.length, 1);
    assert.deepEqual(events[0]?.payload, { agent_id: agentId, spiffe_id: agent.node.identity?.spiffeId, entries: 3, entries_without_svid: 1, max_svids: 2 });
  });

  it('once an entry goes, the newest one gets its SVID and the warning clears', async () => {
    deleteEntry(server, entryIds[0] as string);
    await until(() => agent.svids.entriesWithoutSvid === 0 && agent.svids.get(entryIds[2] as string) !== undefined, 'the third SVID');
    assert.deepEqual(agent.readiness().warnings, []);
    const client = rawWorkloadClient(join(dir, 'sock', 'api.sock'));
    try {
      const message = await firstMessage(client.FetchX509SVID({}, securityHeader()));
      assert.deepEqual(message.svids.map((s) => s.spiffe_id), ['spiffe://example.org/third']);
    } finally {
      client.close();
    }
  });
});
