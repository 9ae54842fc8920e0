import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, makeTempDir, removeDir, startSigilAgent, startSigilServer, type SigilAgentProcess, type SigilServerProcess } from './sigil-process.js';

export interface ApiAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** A real `sigil server run` and one attested `sigil agent run` of it, in a temp folder. */
export interface SigilPair {
  dir: string;
  server: SigilServerProcess;
  agent: SigilAgentProcess;
  /** The admin REST API with the bootstrap admin token. */
  api(method: string, path: string, body?: unknown): Promise<ApiAnswer>;
  agentSpiffeId: string;
  /** The Workload API socket (`<dir>/sock/api.sock`, folder 0755). */
  socketPath: string;
  /** Stop the server (SIGTERM), run `meanwhile`, start it again on the same ports and data. */
  restartServer(meanwhile?: () => void | Promise<void>): Promise<void>;
  stop(): Promise<void>;
}

export interface SigilPairOptions {
  /** server.yaml content (trust_domain example.org is added when absent). */
  serverConfig?: string;
  /** Runs with the server stopped after its first start, before the agent attests (e.g. seeding the database). */
  beforeAgent?: (serverDataDir: string) => void | Promise<void>;
}

export async function startSigilPair(prefix: string, options: SigilPairOptions = {}): Promise<SigilPair> {
  const dir = makeTempDir(prefix);
  chmodSync(dir, 0o755);
  const env = { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' };
  const args: string[] = [];
  if (options.serverConfig !== undefined) {
    writeFileSync(join(dir, 'server.yaml'), options.serverConfig.includes('trust_domain:') ? options.serverConfig : `trust_domain: example.org\n${options.serverConfig}`);
    args.push('--config', join(dir, 'server.yaml'));
  }
  const start = () => startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR, args });
  let server = await start();
  if (options.beforeAgent) {
    await server.stop();
    await options.beforeAgent(env.SIGIL_DATA_DIR);
    server = await start();
  }
  const token = readFileSync(join(dir, 'server', 'admin.token'), 'utf8').trim();
  const api = async (method: string, path: string, body?: unknown): Promise<ApiAnswer> => {
    const res = await fetch(`http://${env.SIGIL_ADMIN_ADDR}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
  const bundlePath = join(dir, 'bundle.pem');
  writeFileSync(bundlePath, await (await fetch(`http://${env.SIGIL_ADMIN_ADDR}/v1/bundle?format=pem`)).text());
  mkdirSync(join(dir, 'sock'), { mode: 0o755 });
  const socketPath = join(dir, 'sock', 'api.sock');
  const joinToken = (await api('POST', '/v1/join-tokens', {})).body.token as string;
  const agent = await startSigilAgent({ args: ['--join-token', joinToken, '--server-address', env.SIGIL_AGENT_API_ADDR, '--trust-bundle', bundlePath], socketPath, dataDir: join(dir, 'agent') });
  const agentSpiffeId = ((await api('GET', '/v1/agents')).body.agents as { spiffe_id: string }[])[0]?.spiffe_id as string;
  const pair: SigilPair = {
    dir,
    server,
    agent,
    api,
    agentSpiffeId,
    socketPath,
    async restartServer(meanwhile) {
      await pair.server.stop();
      await meanwhile?.();
      pair.server = await start();
    },
    async stop() {
      await pair.agent.stop();
      await pair.server.stop();
      removeDir(dir);
    },
  };
  return pair;
}
