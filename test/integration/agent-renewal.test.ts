import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { AgentStateStore } from '../../src/agent/node/agent-state.js';
import { createLogger, silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { makeTempDir, removeDir } from '../helpers/sigil-process.js';

// Real server and agent (in one process), real TLS and sockets, a 10 s agent SVID.

function captureLog(): { log: ReturnType<typeof createLogger>; lines: () => string } {
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      text += chunk.toString('utf8');
      cb();
    },
  });
  return { log: createLogger('info', sink), lines: () => text };
}

describe('agent SVID lifecycle', () => {
  let dir: string;
  let server: RunningServer;

  const joinToken = () => {
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), 't', Date.now() + 600_000, Date.now());
    return token;
  };
  const agentConfig = (name: string, token?: string) =>
    loadAgentConfig(undefined, {}, {
      trust_domain: 'example.org',
      server_address: server.agentApi?.address,
      data_dir: join(dir, name),
      socket_path: join(dir, `${name}.sock`),
      insecure_bootstrap: true,
      health_addr: '127.0.0.1:0',
      ...(token && { join_token: token }),
    });

  before(async () => {
    dir = makeTempDir('sigil-agent-renewal-');
    const configPath = join(dir, 'server.yaml');
    writeFileSync(configPath, 'trust_domain: example.org\nsvid:\n  agent_ttl: 10s\n');
    server = await startServer(loadServerConfig(configPath, { SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
      log: silentLogger,
      keyManager: new MemoryKeyManager(),
    });
  });

  after(async () => {
    await server.close();
    removeDir(dir);
  });

  it('the agent renews its own SVID at half-life, with a new key, and stays synced', async () => {
    const { log, lines } = captureLog();
    let agent: RunningAgent | undefined;
    try {
      agent = await startAgent(agentConfig('renew', joinToken()), { log });
      const first = agent.node.identity;
      assert.ok(first);
      const deadline = Date.now() + 12_000;
      while (agent.node.identity === first && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const second = agent.node.identity;
      assert.ok(second && second !== first, 'a new agent SVID');
      assert.ok(Date.now() < first.notAfter.getTime(), 'renewed before the old SVID expired');
      assert.equal(second.spiffeId, first.spiffeId);
      assert.ok(second.notAfter > first.notAfter);
      assert.match(lines(), /renewed the agent SVID/);
      const record = server.store.agents.get(second.agentId);
      assert.ok(record?.svidNotAfter && record.svidNotAfter >= second.notAfter.getTime() - 1000);
      // the renewed SVID is what the agent now uses: a call through it succeeds
      assert.equal((await (await agent.node.serverClient()).signX509Svids({ requests: [] })).results.length, 0);
    } finally {
      await agent?.close();
    }
  });

  it('an agent that finds its SVID expired attests again with a new token, and says so', async () => {
    const name = 'expired';
    let agent = await startAgent(agentConfig(name, joinToken()), { log: silentLogger });
    const oldId = agent.node.identity?.spiffeId;
    await agent.close();
    // Simulate downtime past expiry: rewrite the saved metadata as expired.
    const state = new AgentStateStore(join(dir, name));
    const saved = (await state.loadIdentity()).identity;
    assert.ok(saved);
    await state.saveIdentity({ ...saved, notAfter: new Date(Date.now() - 1000) });
    const { log, lines } = captureLog();
    agent = await startAgent(agentConfig(name, joinToken()), { log });
    try {
      assert.match(lines(), /the agent SVID on disk has expired; attesting again/);
      assert.match(lines(), /node attestation succeeded/);
      assert.notEqual(agent.node.identity?.spiffeId, oldId, 'a new agent identity');
    } finally {
      await agent.close();
    }
  });

  it('without a token, an expired agent refuses to start and says what to do', async () => {
    const name = 'no-token';
    const agent = await startAgent(agentConfig(name, joinToken()), { log: silentLogger });
    await agent.close();
    const state = new AgentStateStore(join(dir, name));
    const saved = (await state.loadIdentity()).identity;
    assert.ok(saved);
    await state.saveIdentity({ ...saved, notAfter: new Date(Date.now() - 1000) });
    mkdirSync(join(dir, 'unused'), { recursive: true });
    await assert.rejects(startAgent(agentConfig(name), { log: silentLogger }), /no valid SVID and no join token: create one with `sigil token generate`/);
  });
});
