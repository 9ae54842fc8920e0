// The agent of the streams benchmark, in a process of its own so that its CPU time and event-loop
// delay are the agent's alone. Beside the agent's own Workload API socket it serves the old
// per-stream FetchX509SVID path on a second socket (the baseline), over the same caches.
import * as grpc from '@grpc/grpc-js';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { ExecutableHashCache } from '../../src/agent/attestation/executable-hash.js';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { listenAttestedUnixSocket, type AttestedUnixListener } from '../../src/agent/endpoints/attested-unix-listener.js';
import type { Caller } from '../../src/agent/endpoints/caller.js';
import { systemClock } from '../../src/common/clock.js';
import { IdentifiedConnections } from '../../src/common/grpc/connection-injector.js';
import { workloadApiService } from '../../src/common/grpc/protos.js';
import { createLogger, silentLogger } from '../../src/common/logger.js';
import { serveParent } from './ipc.js';
import { perStreamFetchX509Svid } from './per-stream-baseline.js';

export interface AgentStart {
  serverAddress: string;
  joinToken: string;
  dataDir: string;
  socketPath: string;
  baselineSocketPath: string;
  /** SVIDs the agent must hold before the benchmark starts. */
  svids: number;
}

let agent: RunningAgent | undefined;
let baseline: AttestedUnixListener | undefined;
const loopDelay = monitorEventLoopDelay({ resolution: 5 });
let cpuMark = process.cpuUsage();

async function waitForSvids(count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((agent?.svids.size ?? 0) < count) {
    if (Date.now() > deadline) throw new Error(`the agent holds ${agent?.svids.size} SVIDs, not ${count}, after ${timeoutMs} ms`);
    await delay(50);
  }
}

serveParent({
  async start(args: AgentStart) {
    const config = loadAgentConfig(undefined, {}, { trust_domain: 'bench.org', server_address: args.serverAddress, data_dir: args.dataDir, socket_path: args.socketPath, join_token: args.joinToken, insecure_bootstrap: true, health_addr: '127.0.0.1:0', max_svids: 100_000 });
    agent = await startAgent(config, { log: process.env.BENCH_AGENT_LOG ? createLogger('warn', process.stderr) : silentLogger });
    const server = new grpc.Server();
    const connections = new IdentifiedConnections<Caller>(server, 'baseline');
    const handler = perStreamFetchX509Svid({ node: agent.node, sync: agent.sync, svids: agent.svids, clock: systemClock, log: silentLogger, hashCache: new ExecutableHashCache(), callerOf: (call) => connections.identityOf(call) });
    server.addService(workloadApiService().service, { FetchX509SVID: handler });
    baseline = await listenAttestedUnixSocket({ path: args.baselineSocketPath, mode: 0o777, configKey: 'baseline socket', server, connections, log: silentLogger });
    await waitForSvids(args.svids, 300_000);
    loopDelay.enable();
    return { healthAddress: agent.health.address, parentId: agent.node.identity?.spiffeId };
  },
  /** Start counting: CPU time and the longest event-loop block from now. */
  async mark() {
    loopDelay.reset();
    cpuMark = process.cpuUsage();
  },
  /** Once the agent holds `svids` SVIDs again (the revoked one replaced), what it cost since the mark. */
  async read(args: { svids: number }) {
    await waitForSvids(args.svids, 60_000);
    const cpu = process.cpuUsage(cpuMark);
    return { cpuMs: (cpu.user + cpu.system) / 1000, loopDelayMaxMs: loopDelay.max / 1e6 };
  },
  /** Memory now, after a full garbage collection (the agent runs with --expose-gc). */
  async memory() {
    (globalThis as { gc?: () => void }).gc?.();
    await delay(100);
    const usage = process.memoryUsage();
    return { rssMiB: usage.rss / 2 ** 20, heapUsedMiB: usage.heapUsed / 2 ** 20 };
  },
  async stop() {
    await baseline?.close();
    await agent?.close();
    setImmediate(() => process.exit(0));
  },
});
