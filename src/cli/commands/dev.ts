import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join, resolve } from 'node:path';
import { errorMessage } from '../../common/errors.js';
import { writeFileAtomic } from '../../common/files.js';
import type { RunningAgent } from '../../agent/agent.js';
import { AgentStateStore } from '../../agent/node/agent-state.js';
import type { RunningServer } from '../../server/server.js';
import { AdminClient } from '../client/admin-client.js';
import { readAdminCredential } from '../client/connection.js';
import { leaf } from '../command.js';
import { CommandFailure } from '../errors.js';
import { stopSignal } from '../stop-signal.js';
import { devBanner } from './dev-banner.js';
import { devLayout, prepareDevLayout } from './dev-layout.js';
import { defaultServerConfigPath } from './server.js';

export const devDataDir = './.sigil';

interface EntryJson {
  id: string;
  spiffe_id: string;
}

/** The dev user's entry, under whatever agent this is (a re-attested agent has a new SPIFFE ID). */
async function ensureUserEntry(client: AdminClient, trustDomain: string, agentSpiffeId: string): Promise<string> {
  const uid = process.getuid?.() ?? 0;
  const name = userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_') || `uid-${uid}`;
  const spiffeId = `spiffe://${trustDomain}/user/${name}`;
  const existing = await client.listAll<EntryJson>('/v1/entries', 'entries', { parent_id: agentSpiffeId, spiffe_id: spiffeId });
  if (existing.length === 0) {
    await client.postJson<EntryJson>('/v1/entries', { spiffe_id: spiffeId, parent_id: agentSpiffeId, selectors: [{ type: 'unix', value: `uid:${uid}` }], hint: 'dev' });
  }
  return spiffeId;
}

export const devCommand = leaf({
  name: 'dev',
  summary: 'Server and agent in one process, data in ./.sigil, an entry for you: a working socket with no configuration',
  flags: {},
  async run() {
    const [{ createLogger }, { loadServerConfig }, { startServer }, { loadAgentConfig }, { startAgent }] = await Promise.all([
      import('../../common/logger.js'),
      import('../../server/config.js'),
      import('../../server/server.js'),
      import('../../agent/config.js'),
      import('../../agent/agent.js'),
    ]);
    const layout = devLayout(resolve(devDataDir));
    const serverConfig = loadServerConfig(existsSync(defaultServerConfigPath) ? defaultServerConfigPath : undefined, { SIGIL_TRUST_DOMAIN: 'example.org', ...process.env, SIGIL_DATA_DIR: layout.serverDir });
    const log = createLogger(serverConfig.log_level, process.stderr, serverConfig.log_format);
    const signal = stopSignal();
    let server: RunningServer | undefined;
    let agent: RunningAgent | undefined;
    try {
      for (const change of prepareDevLayout(layout)) log.warn(change);
      server = await startServer(serverConfig, { log });
      const client = new AdminClient(server.adminAddress ?? serverConfig.admin_addr, readAdminCredential(join(serverConfig.data_dir, 'admin.token')));
      const agentDir = layout.agentDir;
      const bootstrapBundle = join(agentDir, 'bootstrap-bundle.pem');
      writeFileAtomic(bootstrapBundle, await client.getText('/v1/bundle', { format: 'pem' }), 0o600);
      // A restart reuses the agent's SVID; only a new (or expired) agent needs a join token.
      const saved = (await new AgentStateStore(agentDir).loadIdentity()).identity;
      const token = saved && saved.notAfter.getTime() > Date.now() ? undefined : (await client.postJson<{ token: string }>('/v1/join-tokens', { ttl: '10m', name: 'sigil dev' })).token;
      const agentConfig = loadAgentConfig(undefined, { ...process.env }, {
        trust_domain: serverConfig.trust_domain,
        server_address: server.agentApi?.address,
        data_dir: agentDir,
        socket_path: process.env.SIGIL_AGENT_SOCKET ?? layout.socketPath,
        trust_bundle_path: bootstrapBundle,
        join_token: token,
        log_level: serverConfig.log_level,
        log_format: serverConfig.log_format,
      });
      agent = await startAgent(agentConfig, { log });
      const spiffeId = await ensureUserEntry(client, serverConfig.trust_domain, agent.node.identity?.spiffeId ?? '');
      process.stdout.write(
        devBanner({
          trustDomain: serverConfig.trust_domain,
          adminAddress: server.adminAddress ?? serverConfig.admin_addr,
          dataDir: layout.base,
          uid: process.getuid?.() ?? 0,
          spiffeId,
          endpointSocket: agent.endpointSocket,
          socketPath: agentConfig.socket_path,
        }),
      );
    } catch (err) {
      signal.dispose();
      await agent?.close();
      await server?.close();
      throw new CommandFailure(`cannot start sigil dev: ${errorMessage(err)}`, { cause: err });
    }
    log.info({ signal: await signal.received }, 'stopping sigil dev');
    await agent.close();
    await server.close();
    return 0;
  },
});
