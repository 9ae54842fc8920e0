/**
 * A Sigil server and agent in this process, as `sigil dev` composes them, with every file in a
 * fresh temporary folder that is removed afterwards: the demo never touches ./.sigil.
 */
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../agent/agent.js';
import { loadAgentConfig } from '../agent/config.js';
import { AdminClient } from '../cli/client/admin-client.js';
import { createLogger } from '../common/logger.js';
import { loadServerConfig } from '../server/config.js';
import { startServer, type RunningServer } from '../server/server.js';
import type { DemoSigil } from './demo-sigil.js';

export async function startLocalSigil(trustDomain: string): Promise<DemoSigil> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-demo-'));
  // The client may run as another uid: it must reach the socket folder (the data folders stay 0700).
  chmodSync(dir, 0o755);
  // Warnings and errors only: the demo prints its own account of what happens.
  const log = createLogger('warn');
  let server: RunningServer | undefined;
  let agent: RunningAgent | undefined;
  try {
    const serverConfigPath = join(dir, 'server.yaml');
    writeFileSync(serverConfigPath, `trust_domain: ${trustDomain}\n`);
    server = await startServer(loadServerConfig(serverConfigPath, { SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), { log });
    const tokenFile = join(dir, 'server', 'admin.token');
    const admin = new AdminClient(server.adminAddress ?? '', { token: server.bootstrapToken, tokenFile });
    const bundlePath = join(dir, 'bundle.pem');
    writeFileSync(bundlePath, await admin.getText('/v1/bundle', { format: 'pem' }));
    const { token } = await admin.postJson<{ token: string }>('/v1/join-tokens', { ttl: '10m', name: 'sigil demo' });
    agent = await startAgent(
      loadAgentConfig(undefined, {}, {
        trust_domain: trustDomain,
        server_address: server.agentApi?.address,
        data_dir: join(dir, 'agent'),
        socket_path: join(dir, 'public', 'api.sock'),
        trust_bundle_path: bundlePath,
        join_token: token,
        health_addr: '127.0.0.1:0',
        log_level: 'warn',
      }),
      { log },
    );
    const running = { server, agent };
    return {
      admin,
      trustDomain,
      agentSpiffeId: agent.node.identity?.spiffeId ?? '',
      endpointSocket: agent.endpointSocket,
      description: `server (admin API http://${server.adminAddress}) and agent started in this process, data in ${dir}`,
      async close() {
        await running.agent.close();
        await running.server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    await agent?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}
