import { existsSync } from 'node:fs';
import { errorMessage } from '../../common/errors.js';
import type { AgentConfig, RawAgentConfig } from '../../agent/config.js';
import type { RunningAgent } from '../../agent/agent.js';
import { leaf } from '../command.js';
import { CommandFailure } from '../errors.js';
import type { FlagValues } from '../flag-values.js';
import { stopSignal } from '../stop-signal.js';

export const defaultAgentConfigPath = 'config/agent.yaml';

async function loadConfig(path: string | undefined, flags: Partial<Record<keyof RawAgentConfig, unknown>>): Promise<AgentConfig> {
  const [{ ConfigError }, { loadAgentConfig }] = await Promise.all([import('../../common/config-file.js'), import('../../agent/config.js')]);
  try {
    return loadAgentConfig(path, process.env, flags);
  } catch (err) {
    if (err instanceof ConfigError) throw new CommandFailure(err.message);
    throw err;
  }
}

function agentFlagOverrides(flags: FlagValues): Partial<Record<keyof RawAgentConfig, unknown>> {
  return {
    join_token: flags.string('join-token'),
    server_address: flags.string('server-address'),
    socket_path: flags.string('socket-path'),
    admin_socket_path: flags.string('admin-socket-path'),
    data_dir: flags.string('data-dir'),
    trust_bundle_path: flags.string('trust-bundle'),
    trust_domain: flags.string('trust-domain'),
    insecure_bootstrap: flags.boolean('insecure-bootstrap') ? true : undefined,
  };
}

export const agentRunCommand = leaf({
  name: 'run',
  summary: 'Run the node agent: attest, sync, and serve the Workload API until SIGINT or SIGTERM',
  flags: {
    config: { type: 'string', valueName: 'FILE', description: `config file (default: ${defaultAgentConfigPath} if it exists)` },
    'join-token': { type: 'string', valueName: 'TOKEN', spireName: 'joinToken', description: 'one-use token from `sigil token generate` (needed only when the agent has no valid SVID)' },
    'server-address': { type: 'string', valueName: 'HOST:PORT', spireName: 'serverAddress', description: "the server's agent API (default 127.0.0.1:8443)" },
    'socket-path': { type: 'string', valueName: 'PATH', spireName: 'socketPath', description: 'Workload API unix socket' },
    'admin-socket-path': { type: 'string', valueName: 'PATH', spireName: 'adminSocketPath', description: 'Delegated Identity API socket (mode 0770; not in or under the public socket folder)' },
    'data-dir': { type: 'string', valueName: 'DIR', spireName: 'dataDir', description: 'where the agent keeps its key, SVID and bundle (mode 0600)' },
    'trust-bundle': { type: 'string', valueName: 'FILE', spireName: 'trustBundle', description: 'bundle (PEM or SPIFFE JSON) that authenticates the server at first attestation' },
    'trust-domain': { type: 'string', valueName: 'NAME', spireName: 'trustDomain', description: 'trust domain (or SIGIL_TRUST_DOMAIN)' },
    'insecure-bootstrap': { type: 'boolean', spireName: 'insecureBootstrap', description: 'attest without authenticating the server (testing only)' },
  },
  async run(flags) {
    const path = flags.string('config') ?? (existsSync(defaultAgentConfigPath) ? defaultAgentConfigPath : undefined);
    const config = await loadConfig(path, agentFlagOverrides(flags));
    const [{ createLogger }, { startAgent }] = await Promise.all([import('../../common/logger.js'), import('../../agent/agent.js')]);
    const log = createLogger(config.log_level, process.stderr, config.log_format);
    const signal = stopSignal();
    let agent: RunningAgent;
    try {
      agent = await startAgent(config, { log });
    } catch (err) {
      signal.dispose();
      throw new CommandFailure(`cannot start the agent: ${errorMessage(err)}`, { cause: err });
    }
    process.stdout.write(`SPIFFE_ENDPOINT_SOCKET=${agent.endpointSocket}\n`);
    log.info({ signal: await signal.received }, 'stopping sigil agent');
    await agent.close();
    log.info('sigil agent stopped');
    return 0;
  },
});
