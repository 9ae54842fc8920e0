import { existsSync } from 'node:fs';
import { errorMessage } from '../../common/errors.js';
import type { ServerConfig } from '../../server/config.js';
import type { RunningServer } from '../../server/server.js';
import { group, leaf } from '../command.js';
import { CommandFailure } from '../errors.js';
import { stopSignal } from '../stop-signal.js';

export const defaultServerConfigPath = 'config/server.yaml';

async function loadConfig(path: string | undefined): Promise<ServerConfig> {
  // Imported here, not at the top: the server's modules take longer to load than a client command runs.
  const [{ ConfigError }, { loadServerConfig }] = await Promise.all([import('../../common/config-file.js'), import('../../server/config.js')]);
  try {
    return loadServerConfig(path, process.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CommandFailure(err.message);
    throw err;
  }
}

const run = leaf({
  name: 'run',
  summary: 'Run the Sigil server (admin API, CA) until SIGINT or SIGTERM',
  flags: {
    config: {
      type: 'string',
      valueName: 'FILE',
      description: `config file (default: ${defaultServerConfigPath} if it exists, else only SIGIL_* variables and defaults)`,
    },
  },
  async run(flags) {
    const path = flags.string('config') ?? (existsSync(defaultServerConfigPath) ? defaultServerConfigPath : undefined);
    const config = await loadConfig(path);
    const [{ createLogger }, { startServer }] = await Promise.all([import('../../common/logger.js'), import('../../server/server.js')]);
    const log = createLogger(config.log_level, process.stderr, config.log_format);
    const signal = stopSignal();
    let server: RunningServer;
    try {
      server = await startServer(config, { log });
    } catch (err) {
      signal.dispose();
      throw new CommandFailure(`cannot start the server: ${errorMessage(err)}`, { cause: err });
    }
    log.info({ signal: await signal.received }, 'stopping sigil server');
    try {
      await server.close();
    } catch (err) {
      log.error({ err }, 'sigil server did not stop cleanly');
      return 1;
    }
    log.info('sigil server stopped');
    return 0;
  },
});

const tokenCreate = leaf({
  name: 'create',
  summary: "Make an admin API token directly in the server's database (needs access to data_dir): the way back in if admin.token was lost",
  flags: {
    config: { type: 'string', valueName: 'FILE', description: `server config file, for data_dir (default: ${defaultServerConfigPath} if it exists, else SIGIL_DATA_DIR)` },
    name: { type: 'string', valueName: 'NAME', description: 'a name for the token (shown in the audit log)' },
    role: { type: 'string', valueName: 'ROLE', choices: ['admin', 'viewer'], description: 'admin (default) or viewer (read only)' },
    write: { type: 'string', valueName: 'FILE', description: 'write the token to FILE (mode 0600) instead of printing it' },
  },
  async run(flags) {
    const path = flags.string('config') ?? (existsSync(defaultServerConfigPath) ? defaultServerConfigPath : undefined);
    const config = await loadConfig(path);
    const [{ createLocalAdminToken }, { writeFileWithMode }] = await Promise.all([import('../../server/local-admin-token.js'), import('../files.js')]);
    let token: string;
    try {
      token = createLocalAdminToken(config.data_dir, flags.string('name') ?? 'local', (flags.string('role') ?? 'admin') as 'admin' | 'viewer', Date.now());
    } catch (err) {
      throw new CommandFailure(errorMessage(err), { cause: err });
    }
    const file = flags.string('write');
    if (file) {
      writeFileWithMode(file, `${token}\n`, 0o600);
      process.stdout.write(`Token written to ${file}\n`);
    } else {
      process.stdout.write(`${token}\n`);
    }
    return 0;
  },
});

export const serverCommands = group('server', 'Run the Sigil server, or act on its data directory', [run, group('token', "Admin API tokens made from the server's data directory", [tokenCreate])]);
