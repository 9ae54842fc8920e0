// Issue 15 item 5: one change pushed to N open FetchX509SVID streams (N = 500, BENCH_STREAMS=5000)
// of an agent holding 1,000 entries. The change is a revocation of another workload's SVID: the
// agent gets the new CRL (every stream's message changes), drops the revoked SVID and fetches its
// successor (three change events). Agent, clients and the /live probe run in processes of their
// own; the server runs here. Baseline: the old per-stream path on a second socket of the same
// agent. Each figure is the median of BENCH_ROUNDS (3) changes, after one change not counted.
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer } from '../../src/server/server.js';
import type { AgentStart } from './agent-process.js';
import { addEntry } from '../agent.js';
import { ChildControl } from './ipc.js';

interface Memory {
  rssMiB: number;
  heapUsedMiB: number;
}

interface Measurement {
  path: string;
  cpuMs: number;
  loopDelayMaxMs: number;
  liveMaxMs: number;
  deliveredMs: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

const script = (name: string) => fileURLToPath(new URL(`./${name}`, import.meta.url));

export async function runStreamsBenchmark(streams = Number(process.env.BENCH_STREAMS ?? 500), entries = Number(process.env.BENCH_ENTRIES ?? 1000), rounds = Number(process.env.BENCH_ROUNDS ?? 3)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-streams-'));
  const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
    log: silentLogger,
    keyManager: new MemoryKeyManager(),
  });
  const token = generateSecretToken('sjt');
  server.store.joinTokens.create(hashSecretToken(token), 'bench', Date.now() + 600_000, Date.now());
  const agent = new ChildControl(fork(script('agent-process.js'), { stdio: 'inherit', execArgv: ['--expose-gc'] }));
  const probe = new ChildControl(fork(script('live-probe-process.js'), { stdio: 'inherit' }));
  const results: Measurement[] = [];
  const memory: { path: string; before: Memory; open: Memory; closed: Memory }[] = [];
  try {
    const start: AgentStart = { serverAddress: server.agentApi?.address as string, joinToken: token, dataDir: join(dir, 'agent'), socketPath: join(dir, 'api.sock'), baselineSocketPath: join(dir, 'baseline.sock'), svids: 0 };
    const { healthAddress, parentId } = await agent.call<{ healthAddress: string; parentId: string }>('start', start);
    addEntry(server, parentId, 'bench/client', process.getuid?.() ?? 0);
    const others = Array.from({ length: entries - 1 }, (_, i) => addEntry(server, parentId, `bench/other-${i}`, 100_000 + i));
    await agent.call('read', { svids: entries });
    let revoked = 0;
    const change = () => server.context.revocations.revoke({ selector: { entryId: others[revoked++] as string }, reason: 'keyCompromise', actor: 'bench' });

    for (const [path, socketPath] of [
      ['baseline: every stream computes its own state (before)', start.baselineSocketPath],
      ['one identity view per selector set (after)', start.socketPath],
    ] as const) {
      const clients = new ChildControl(fork(script('clients-process.js'), { stdio: 'inherit' }));
      const before = await agent.call<Memory>('memory');
      let open: Memory | undefined;
      try {
        await clients.call('open', { socketPath, streams });
        // Warm-up: one change that is not counted.
        await change();
        await clients.call('await', { messages: 2 });
        await agent.call('read', { svids: entries });

        const measured: Omit<Measurement, 'path'>[] = [];
        for (let round = 0; round < rounds; round++) {
          await agent.call('mark');
          await probe.call('start', { healthAddress });
          const t0 = performance.now();
          await change();
          await clients.call('await', { messages: 3 + round });
          const deliveredMs = performance.now() - t0;
          const { cpuMs, loopDelayMaxMs } = await agent.call<{ cpuMs: number; loopDelayMaxMs: number }>('read', { svids: entries });
          measured.push({ cpuMs, loopDelayMaxMs, liveMaxMs: await probe.call<number>('stop'), deliveredMs });
        }
        open = await agent.call<Memory>('memory');
        const medianOf = (key: keyof Omit<Measurement, 'path'>) => median(measured.map((m) => m[key]));
        results.push({ path, cpuMs: medianOf('cpuMs'), loopDelayMaxMs: medianOf('loopDelayMaxMs'), liveMaxMs: medianOf('liveMaxMs'), deliveredMs: medianOf('deliveredMs') });
      } finally {
        await clients.call('close').catch(() => undefined);
      }
      await delay(500);
      if (open) memory.push({ path, before, open, closed: await agent.call<Memory>('memory') });
    }
  } finally {
    await agent.call('stop').catch(() => undefined);
    await probe.call('exit').catch(() => undefined);
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return [
    `### One revocation pushed to ${streams} open FetchX509SVID streams (agent with ${entries} entries; median of ${rounds})`,
    '',
    '| path | agent CPU (ms) | longest event-loop block (ms) | slowest /live (ms) | revoke → every stream updated (ms) |',
    '|---|---:|---:|---:|---:|',
    ...results.map((r) => `| ${r.path} | ${r.cpuMs.toFixed(0)} | ${r.loopDelayMaxMs.toFixed(1)} | ${r.liveMaxMs.toFixed(1)} | ${r.deliveredMs.toFixed(0)} |`),
    '',
    `Agent memory (after a full GC) before the ${streams} streams open, while open, and once they closed:`,
    '',
    '| path | RSS before → open → closed (MiB) | heap used before → open → closed (MiB) |',
    '|---|---:|---:|',
    ...memory.map((m) => `| ${m.path} | ${m.before.rssMiB.toFixed(0)} → ${m.open.rssMiB.toFixed(0)} → ${m.closed.rssMiB.toFixed(0)} | ${m.before.heapUsedMiB.toFixed(0)} → ${m.open.heapUsedMiB.toFixed(0)} → ${m.closed.heapUsedMiB.toFixed(0)} |`),
    '',
  ];
}
