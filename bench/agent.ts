// Agent benchmarks (issue: the node agent): entry create -> SVID on an open stream, FetchX509SVID
// latency from the cache with 1/10/100 concurrent callers beside a gRPC health check on the same
// socket (the transport floor), and the memory of an agent holding 1,000 SVIDs beside one holding none.
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAgent, type RunningAgent } from '../src/agent/agent.js';
import { loadAgentConfig } from '../src/agent/config.js';
import { silentLogger } from '../src/common/logger.js';
import { healthService, workloadApiService } from '../src/common/grpc/protos.js';
import { generateSecretToken, hashSecretToken } from '../src/common/secrets.js';
import { MemoryKeyManager } from '../src/server/ca/key-manager.js';
import { loadServerConfig } from '../src/server/config.js';
import { startServer, type RunningServer } from '../src/server/server.js';

interface SvidMessage {
  svids: { spiffe_id: string }[];
}
type Stream = grpc.ClientReadableStream<SvidMessage>;
interface BenchClient extends grpc.Client {
  FetchX509SVID(req: object, md: grpc.Metadata): Stream;
}
interface HealthClient extends grpc.Client {
  Check(req: { service: string }, cb: (err: grpc.ServiceError | null) => void): void;
}

const header = () => {
  const md = new grpc.Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
};

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function summary(name: string, samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `| ${name} | ${s.length} | ${percentile(s, 50).toFixed(2)} | ${percentile(s, 99).toFixed(2)} |`;
}

/** An entry at spiffe://bench.org/<path> for one uid, with its event, straight in the store. */
export function addEntry(server: RunningServer, parentId: string, path: string, uid: number): string {
  const now = Date.now();
  return server.store.transaction(() => {
    const e = server.store.entries.create({ spiffeId: `spiffe://bench.org/${path}`, parentId, selectors: [{ type: 'unix', value: `uid:${uid}` }], dnsNames: [], x509SvidTtl: 3600, jwtSvidTtl: 300, hint: '', admin: false }, now);
    server.store.events.append(now, 'entry.created', e.id);
    return e.id;
  });
}

function firstSvidWith(client: BenchClient, spiffeId: string): Promise<number> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const stream = client.FetchX509SVID({}, header());
    stream.on('data', (m: SvidMessage) => {
      if (m.svids.some((s) => s.spiffe_id === spiffeId)) {
        stream.cancel();
        resolve(performance.now() - start);
      }
    });
    stream.on('error', (e: grpc.ServiceError) => e.code !== grpc.status.CANCELLED && reject(e));
  });
}

async function heapAfterGc(): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return process.memoryUsage().heapUsed;
}

/** `sizes` shrink the run (the smoke test); the defaults are what docs/benchmarks.md reports. */
export async function runAgentBenchmarks(sizes: { trials?: number; samples?: number; cachedSvids?: number } = {}): Promise<string[]> {
  const { trials = 50, samples = 500, cachedSvids = 1000 } = sizes;
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-agent-'));
  const lines: string[] = [];
  const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
    log: silentLogger,
    keyManager: new MemoryKeyManager(),
  });
  const token = generateSecretToken('sjt');
  server.store.joinTokens.create(hashSecretToken(token), 'bench', Date.now() + 600_000, Date.now());
  const socket = join(dir, 'api.sock');
  let agent: RunningAgent | undefined;
  try {
    agent = await startAgent(
      loadAgentConfig(undefined, {}, { trust_domain: 'bench.org', server_address: server.agentApi?.address, data_dir: join(dir, 'agent'), socket_path: socket, join_token: token, insecure_bootstrap: true, health_addr: '127.0.0.1:0', max_svids: 100_000 }),
      { log: silentLogger },
    );
    const parent = agent.node.identity?.spiffeId as string;
    const uid = process.getuid?.() ?? 0;
    const Client = workloadApiService() as unknown as new (a: string, c: grpc.ChannelCredentials) => BenchClient;
    const Health = healthService() as unknown as new (a: string, c: grpc.ChannelCredentials) => HealthClient;

    // 1. Entry create -> SVID on an already open stream.
    const watcher = new Client(`unix://${socket}`, grpc.credentials.createInsecure());
    addEntry(server, parent, 'bench/base', uid);
    await firstSvidWith(watcher, 'spiffe://bench.org/bench/base');
    const entryLatency: number[] = [];
    for (let i = 0; i < trials; i++) {
      const stream = watcher.FetchX509SVID({}, header());
      const spiffeId = `spiffe://bench.org/bench/new-${i}`;
      const latency = await new Promise<number>((resolve, reject) => {
        let start = 0;
        stream.on('data', (m: SvidMessage) => {
          if (start === 0) {
            start = performance.now();
            addEntry(server, parent, `bench/new-${i}`, uid);
          } else if (m.svids.some((s) => s.spiffe_id === spiffeId)) {
            stream.cancel();
            resolve(performance.now() - start);
          }
        });
        stream.on('error', (e: grpc.ServiceError) => e.code !== grpc.status.CANCELLED && reject(e));
      });
      entryLatency.push(latency);
    }
    // Remove them again so the fetch benchmark serves one identity.
    for (const e of server.store.entries.list({ parentId: parent }, { pageSize: 1000 }).items.filter((e) => e.spiffeId.includes('/new-'))) {
      const now = Date.now();
      server.store.transaction(() => {
        server.store.entries.delete(e.id);
        server.store.events.append(now, 'entry.deleted', e.id);
      });
    }
    watcher.close();
    lines.push('### Entry create → SVID on an open stream (ms)', '', '| measurement | samples | p50 | p99 |', '|---|---:|---:|---:|', summary('entry created in the store → stream message with the new SVID', entryLatency), '');

    // 2. FetchX509SVID (first message) latency from cache vs. a health check, by concurrency.
    lines.push('### FetchX509SVID from the cache (ms per call)', '', '| measurement | samples | p50 | p99 |', '|---|---:|---:|---:|');
    for (const concurrency of [1, 10, 100]) {
      // One connection per client (no shared subchannel): each call ends with a client cancel, and
      // Node's HTTP/2 rapid-reset guard closes a connection after ~1000 quick resets.
      const ClientWithOptions = Client as unknown as new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => BenchClient;
      const clients = Array.from({ length: Math.min(concurrency, 10) }, () => new ClientWithOptions(`unix://${socket}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
      const health = new Health(`unix://${socket}`, grpc.credentials.createInsecure());
      const perCaller = Math.max(5, Math.floor(samples / concurrency));
      const fetchSamples: number[] = [];
      const healthSamples: number[] = [];
      await Promise.all(
        Array.from({ length: concurrency }, async (_, c) => {
          const client = clients[c % clients.length] as BenchClient;
          for (let i = 0; i < perCaller; i++) fetchSamples.push(await firstSvidWith(client, 'spiffe://bench.org/bench/base'));
        }),
      );
      await Promise.all(
        Array.from({ length: concurrency }, async () => {
          for (let i = 0; i < perCaller; i++) {
            const start = performance.now();
            await new Promise<void>((resolve, reject) => health.Check({ service: '' }, (err) => (err ? reject(err) : resolve())));
            healthSamples.push(performance.now() - start);
          }
        }),
      );
      lines.push(summary(`baseline: grpc.health Check, ${concurrency} concurrent`, healthSamples), summary(`FetchX509SVID first message, ${concurrency} concurrent`, fetchSamples));
      clients.forEach((c) => c.close());
      health.close();
    }
    lines.push('');

    // 3. Memory: heap of the process with 0 vs 1,000 cached SVIDs (server in the same process, so the delta is what counts).
    const before = await heapAfterGc();
    const cachedBefore = agent.svids.size;
    for (let i = 0; i < cachedSvids; i++) addEntry(server, parent, `bench/mem-${i}`, 100_000 + i);
    const deadline = Date.now() + 120_000;
    while (agent.svids.size < cachedBefore + cachedSvids && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const afterHeap = await heapAfterGc();
    const perSvid = (afterHeap - before) / (agent.svids.size - cachedBefore);
    lines.push(
      `### Agent memory holding ${cachedSvids.toLocaleString('en')} SVIDs (heap; RSS is in the agent-scale benchmark)`,
      '',
      '| measurement | value |',
      '|---|---:|',
      `| baseline: heap with ${cachedBefore} cached SVID(s) | ${(before / 1048576).toFixed(1)} MiB |`,
      `| heap with ${agent.svids.size} cached SVIDs | ${(afterHeap / 1048576).toFixed(1)} MiB |`,
      `| per cached SVID (entry + key + chain) | ${(perSvid / 1024).toFixed(1)} KiB |`,
      '',
    );
  } finally {
    await agent?.close();
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
