// Issue 10 goal 5: 10,000 open FetchX509SVID streams on one agent, spread over several client
// processes (real unix sockets), and one X.509 CA rotation pushed to all of them: the active
// authority is replaced and tainted, the agent re-signs, and every stream must carry a new SVID.
// Measured: time to open every stream (first message on each), taint → the last stream has its
// new SVID (median of BENCH_ROUNDS), the agent's CPU and longest event-loop block for that
// change, and the agent's RSS before and with the streams open. Baseline in the same run: the
// same rotation with a single stream.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import { addEntry } from '../agent.js';
import { adminApi } from '../sigil-processes.js';
import type { AgentStart } from './agent-process.js';
import { ChildControl } from './ipc.js';

interface Memory {
  rssMiB: number;
  heapUsedMiB: number;
}

interface RotationRound {
  deliveredMs: number;
  cpuMs: number;
  loopDelayMaxMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const script = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

export async function runRotationAtScaleBenchmark(
  streams = Number(process.env.BENCH_SCALE_STREAMS ?? 10_000),
  processes = Number(process.env.BENCH_STREAM_PROCESSES ?? 4),
  rounds = Number(process.env.BENCH_ROUNDS ?? 3),
): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-rotation-scale-'));
  const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
    log: silentLogger,
    keyManager: new MemoryKeyManager(),
  });
  const api = adminApi(server.adminAddress as string, join(dir, 'server'));
  const token = generateSecretToken('sjt');
  server.store.joinTokens.create(hashSecretToken(token), 'bench', Date.now() + 600_000, Date.now());
  const agent = new ChildControl(fork(script('agent-process.js'), { stdio: 'inherit', execArgv: ['--expose-gc'] }));
  const clientProcesses: ChildControl[] = [];
  try {
    const start: AgentStart = { serverAddress: server.agentApi?.address as string, joinToken: token, dataDir: join(dir, 'agent'), socketPath: join(dir, 'api.sock'), baselineSocketPath: join(dir, 'baseline.sock'), svids: 0 };
    const { parentId } = await agent.call<{ parentId: string }>('start', start);
    addEntry(server, parentId, 'bench/client', process.getuid?.() ?? 0);
    await agent.call('read', { svids: 1 });

    /** Replace the active X.509 authority and taint the old one; resolve once every stream of every process has a new SVID. */
    const rotate = async (clients: ChildControl[]): Promise<RotationRound> => {
      const old = ((await api('GET', '/v1/authorities')).x509_authorities as { id: string; state: string }[]).find((a) => a.state === 'active');
      await api('POST', '/v1/authorities/x509/prepare', {});
      await api('POST', '/v1/authorities/x509/activate', {});
      // The new authority reaches the bundle first (one message per stream, same SVID): not counted.
      await new Promise((r) => setTimeout(r, 1000));
      await Promise.all(clients.map((c) => c.call('mark')));
      await agent.call('mark');
      const t0 = performance.now();
      await api('POST', `/v1/authorities/x509/${old?.id}/taint`);
      await Promise.all(clients.map((c) => c.call('awaitNewSvid')));
      const deliveredMs = performance.now() - t0;
      const { cpuMs, loopDelayMaxMs } = await agent.call<{ cpuMs: number; loopDelayMaxMs: number }>('read', { svids: 1 });
      return { deliveredMs, cpuMs, loopDelayMaxMs };
    };
    const measure = async (clients: ChildControl[]): Promise<RotationRound> => {
      await rotate(clients); // warm-up, not counted
      const measured: RotationRound[] = [];
      for (let round = 0; round < rounds; round++) measured.push(await rotate(clients));
      return { deliveredMs: median(measured.map((m) => m.deliveredMs)), cpuMs: median(measured.map((m) => m.cpuMs)), loopDelayMaxMs: median(measured.map((m) => m.loopDelayMaxMs)) };
    };

    // Baseline: the same rotation with one stream.
    const single = new ChildControl(fork(script('clients-process.js'), { stdio: 'inherit' }));
    await single.call('open', { socketPath: start.socketPath, streams: 1 });
    const baseline = await measure([single]);
    await single.call('close').catch(() => undefined);

    const before = await agent.call<Memory>('memory');
    for (let p = 0; p < processes; p++) clientProcesses.push(new ChildControl(fork(script('clients-process.js'), { stdio: 'inherit' })));
    const share = (p: number) => Math.floor(streams / processes) + (p < streams % processes ? 1 : 0);
    const t0 = performance.now();
    await Promise.all(clientProcesses.map((c, p) => c.call('open', { socketPath: start.socketPath, streams: share(p) })));
    const openSeconds = (performance.now() - t0) / 1000;
    const open = await agent.call<Memory>('memory');
    const atScale = await measure(clientProcesses);
    const row = (what: string, r: RotationRound) => `| ${what} | ${r.deliveredMs.toFixed(0)} | ${r.cpuMs.toFixed(0)} | ${r.loopDelayMaxMs.toFixed(1)} |`;
    return [
      `### One X.509 CA rotation pushed to ${streams.toLocaleString('en')} open FetchX509SVID streams in ${processes} client processes (median of ${rounds})`,
      '',
      '| streams | taint → the last stream has its new SVID (ms) | agent CPU (ms) | longest event-loop block (ms) |',
      '|---|---:|---:|---:|',
      row('baseline: 1 stream', baseline),
      row(streams.toLocaleString('en'), atScale),
      '',
      '| measurement | value |',
      '|---|---:|',
      `| open ${streams.toLocaleString('en')} streams (attested, first message on each) | ${openSeconds.toFixed(1)} s |`,
      `| agent RSS before → with the streams open (after a full GC) | ${before.rssMiB.toFixed(0)} → ${open.rssMiB.toFixed(0)} MiB |`,
      `| agent heap used before → with the streams open | ${before.heapUsedMiB.toFixed(0)} → ${open.heapUsedMiB.toFixed(0)} MiB |`,
      '',
    ];
  } finally {
    await Promise.all(clientProcesses.map((c) => c.call('close').catch(() => undefined)));
    await agent.call('stop').catch(() => undefined);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
