import { Registry } from 'prom-client';
import { systemClock, type Clock } from '../common/clock.js';
import { createLogger, type Logger } from '../common/logger.js';
import { prepareSocketFolder } from './endpoints/socket-path.js';
import { ExecutableHashCache } from './attestation/executable-hash.js';
import { JwtSvidCache } from './cache/jwt-svid-cache.js';
import { SvidCache } from './cache/svid-cache.js';
import { SvidPersistence } from './cache/svid-persistence.js';
import type { AgentConfig } from './config.js';
import { serveBrokerSocket, type BrokerSocket } from './endpoints/broker/broker-socket.js';
import { serveAdminSocket, type AdminSocket } from './endpoints/delegated/admin-socket.js';
import { servePublicSocket, type PublicSocket } from './endpoints/public-socket.js';
import { registerAgentMetrics, startHealthServer, type HealthServer, type Readiness } from './health-server.js';
import { AgentNode } from './node/agent-node.js';
import { AgentStateStore } from './node/agent-state.js';
import { StatusReporter } from './status-reporter.js';
import { SyncClient } from './sync/sync-client.js';
import type { AgentTrustState } from './sync/trust-state.js';

export interface RunningAgent {
  node: AgentNode;
  sync: SyncClient;
  svids: SvidCache;
  socket: PublicSocket;
  adminSocket?: AdminSocket | undefined;
  brokerSocket?: BrokerSocket | undefined;
  health: HealthServer;
  /** The value workloads put in SPIFFE_ENDPOINT_SOCKET. */
  endpointSocket: string;
  readiness(): Readiness;
  close(): Promise<void>;
}

export interface AgentOptions {
  clock?: Clock;
  log?: Logger;
}

/** Compose the node agent: identity, sync, SVID caches, the Workload API socket and health. */
/** Folder modes when the agent creates a socket's folder: the public one every local user reaches. */
const socketFolderModes = { public: 0o755, admin: 0o750, broker: 0o755 } as const;

/**
 * Compose the node agent: identity, sync, SVID caches, the Workload API socket and health. What
 * can fail without spending a join token (the health port, the socket folders) is checked before
 * attestation; if anything fails, everything opened so far is closed before the error is thrown.
 */
export async function startAgent(config: AgentConfig, options: AgentOptions = {}): Promise<RunningAgent> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? createLogger(config.log_level, process.stderr, config.log_format);
  const closers: (() => Promise<void> | void)[] = [];
  const closeAll = async () => {
    for (const close of closers.splice(0).reverse()) await close();
  };
  try {
    return await composeAgent(config, clock, log, closers, closeAll);
  } catch (err) {
    await closeAll();
    throw err;
  }
}

async function composeAgent(config: AgentConfig, clock: Clock, log: Logger, closers: (() => Promise<void> | void)[], closeAll: () => Promise<void>): Promise<RunningAgent> {
  let readiness: () => Readiness = () => ({ ready: false, reason: 'starting' });
  const metrics = new Registry();
  const health = await startHealthServer(config.healthHost, config.healthPort, () => readiness(), metrics);
  closers.push(() => health.close());
  prepareSocketFolder(config.socket_path, 'socket_path', socketFolderModes.public);
  if (config.admin_socket_path) prepareSocketFolder(config.admin_socket_path, 'admin_socket_path', socketFolderModes.admin);
  if (config.broker.socket_path) prepareSocketFolder(config.broker.socket_path, 'broker.socket_path', socketFolderModes.broker);

  const node = new AgentNode(
    { trustDomain: config.trust_domain, serverAddress: config.server_address, joinToken: config.join_token, trustBundlePath: config.trust_bundle_path, insecureBootstrap: config.insecure_bootstrap },
    new AgentStateStore(config.data_dir),
    clock,
    log,
  );
  closers.push(() => node.stop());
  await node.start();
  const sync = new SyncClient(node, clock, log, { workloadCrlMaxBytes: config.workload_crl_max_bytes });
  const svids = new SvidCache(sync.entries, node, clock, log, config.max_svids);
  const persistence = new SvidPersistence(config.data_dir, log);
  const restored = persistence.restore(clock.now().getTime(), node.identity?.spiffeId ?? '');
  if (restored.svids.length) {
    sync.entries.apply(restored.entries, []);
    svids.restore(restored.svids);
    log.info({ svids: restored.svids.length, discarded: restored.discarded }, 'serving the SVIDs kept from the last run; renewing only those that are due');
  }
  persistence.follow(svids, (id) => sync.entries.get(id));
  closers.push(async () => {
    svids.stop();
    await persistence.flush();
  });
  const jwts = new JwtSvidCache(node, clock);
  let stoppedReason: string | undefined;

  sync.on('synced', () => void svids.refresh());
  node.on('trust', (state: AgentTrustState) => {
    svids.applyTrustState(state);
    if (state.taintedJwtKids.length) jwts.clear();
    if (node.signedByTainted(state)) {
      log.warn('the agent SVID was signed by a tainted authority; renewing it now');
      node.renew().catch((err: unknown) => log.error({ err: (err as Error).message }, 'agent SVID renewal after a taint failed'));
    }
  });
  sync.on('entries', () => void svids.refresh());
  node.on('identity', () => sync.reconnect());
  sync.on('status', (state: string) => {
    stoppedReason = `agent ${state} by the server`;
    log.error({ state }, state === 'banned' ? 'this agent was banned: deleting its SVIDs and serving nothing' : 'this agent was evicted: serving nothing until it attests again with a new join token');
    sync.entries.apply([], sync.entries.all().map((e) => e.id));
    sync.emit('entries', []);
    svids.stop();
    svids.clear();
    jwts.clear();
    node.forgetIdentity();
  });
  const statusReporter = new StatusReporter(node, sync, svids, log);
  statusReporter.start();
  closers.push(() => statusReporter.stop());
  sync.start();
  closers.push(() => sync.stop());

  const hashCache = new ExecutableHashCache();
  const socket = await servePublicSocket(config.socket_path, { node, sync, svids, jwts, clock, log, hashCache, sds: config.sds }, log);
  closers.push(() => socket.close());
  const adminSocket = config.admin_socket_path
    ? await serveAdminSocket(config.admin_socket_path, { node, sync, svids, jwts, clock, hashCache, authorizedDelegates: config.authorized_delegates, delegateScopes: config.delegate_scopes }, log)
    : undefined;
  if (adminSocket) closers.push(() => adminSocket.close());
  const brokerSocket = config.broker.socket_path
    ? await serveBrokerSocket(config.broker.socket_path, { node, sync, svids, jwts, clock, hashCache, authorizedCallers: config.broker.authorized_callers }, log)
    : undefined;
  if (brokerSocket) closers.push(() => brokerSocket.close());
  readiness = (): Readiness => {
    if (stoppedReason) return { ready: false, reason: stoppedReason };
    const now = clock.now().getTime();
    if (!node.identity || node.identity.notAfter.getTime() <= now) return { ready: false, reason: 'no valid agent SVID' };
    if (!sync.synced) return { ready: false, reason: 'not yet synced with the server' };
    if (node.trustState.problems.length) return { ready: false, reason: `cannot apply revocations: ${node.trustState.problems.join('; ')}` };
    if (sync.entries.size > 0 && !svids.all().some((s) => s.notAfter.getTime() > now)) return { ready: false, reason: 'no valid workload SVID to serve yet' };
    const warnings: string[] = [];
    if (svids.entriesWithoutSvid) warnings.push(`${svids.entriesWithoutSvid} of ${sync.entries.size} entries get no SVID: more than max_svids (${svids.limit})`);
    if (node.trustState.withheldCrls) warnings.push(`${node.trustState.withheldCrls} CRL(s) over workload_crl_max_bytes are not sent to workloads`);
    return { ready: true, reason: '', warnings };
  };
  registerAgentMetrics(metrics, node, sync, svids, clock);
  const endpointSocket = `unix://${config.socket_path}`;
  log.info({ SPIFFE_ENDPOINT_SOCKET: endpointSocket, health_addr: health.address, spiffe_id: node.identity?.spiffeId }, 'sigil agent serving the Workload API');
  return {
    node,
    sync,
    svids,
    socket,
    adminSocket,
    brokerSocket,
    health,
    endpointSocket,
    readiness: () => readiness(),
    close: closeAll,
  };
}
