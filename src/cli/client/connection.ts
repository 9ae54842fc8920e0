import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CommandFailure } from '../errors.js';
import type { FlagValues } from '../flag-values.js';

export const defaultAdminAddress = '127.0.0.1:8081';
export const defaultDataDir = './.sigil/server';

export interface ServerTarget {
  /** host:port, IPv6 in brackets. */
  address: string;
  tokenFile: string;
}

export interface AdminCredential {
  /** Undefined when the token file does not exist: the request goes out without one and the server says why it refuses. */
  token: string | undefined;
  tokenFile: string;
}

/** host:port (IPv6 in brackets) as its host, as URL spells it, and port; undefined if it is not one. */
function parseAddress(address: string): { host: string; port: string } | undefined {
  const port = /:(\d{1,5})$/.exec(address)?.[1];
  if (port === undefined) return undefined;
  try {
    const url = new URL(`http://${address}/`);
    if (url.username || url.password || url.pathname !== '/' || url.search || url.hash) return undefined;
    return { host: url.hostname, port };
  } catch {
    return undefined;
  }
}

/** A server listening on every address is reached on loopback. */
function reachableAddress(host: string, port: string): string {
  if (host === '0.0.0.0') return `127.0.0.1:${port}`;
  if (host === '[::]') return `[::1]:${port}`;
  return `${host}:${port}`;
}

async function fromConfigFile(path: string, env: NodeJS.ProcessEnv): Promise<{ address: string; dataDir: string }> {
  // Imported only when needed: zod and yaml would slow down every other client command.
  const [{ ConfigError }, { loadServerConfig }] = await Promise.all([import('../../common/config-file.js'), import('../../server/config.js')]);
  try {
    // The client needs only data_dir and admin_addr; a config that leaves trust_domain to the
    // server's environment must still load here, so a placeholder stands in for it.
    const config = loadServerConfig(path, { SIGIL_TRUST_DOMAIN: 'client.invalid', ...env });
    return { address: config.admin_addr, dataDir: config.data_dir };
  } catch (err) {
    if (err instanceof ConfigError) throw new CommandFailure(err.message);
    throw err;
  }
}

/** Flags first, then the config file (with its SIGIL_* overrides), then the environment, then defaults. */
export async function resolveServerTarget(flags: FlagValues, env: NodeJS.ProcessEnv = process.env): Promise<ServerTarget> {
  const configPath = flags.string('config');
  const base = configPath
    ? await fromConfigFile(configPath, env)
    : { address: env.SIGIL_ADMIN_ADDR || defaultAdminAddress, dataDir: resolve(env.SIGIL_DATA_DIR || defaultDataDir) };
  const address = flags.string('server-addr') ?? base.address;
  const parsed = parseAddress(address);
  if (!parsed) throw flags.invalid('server-addr', address, 'must be host:port, e.g. 127.0.0.1:8081');
  return { address: reachableAddress(parsed.host, parsed.port), tokenFile: flags.string('token-file') ?? join(base.dataDir, 'admin.token') };
}

export function readAdminCredential(tokenFile: string): AdminCredential {
  let text: string;
  try {
    text = readFileSync(tokenFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { token: undefined, tokenFile };
    throw new CommandFailure(`cannot read the admin token file ${tokenFile}: ${(err as Error).message}`);
  }
  const token = text.trim();
  return { token: token === '' ? undefined : token, tokenFile };
}
