// An agent at size (issue 15 items 3, 4, 7, 8), as an operator runs it: separate `sigil server
// run` and `sigil agent run` processes, 10,000 entries (one uid each) created in batches of 500.
// Measured: time until the agent holds every SVID, agent RSS per SVID, /metrics size, entry
// create / delete / revoke → Workload API stream latency, and an agent restart (time to ready,
// time until every SVID is held again, SVIDs issued again). With BENCH_BASELINE_CLI pointing at
// an older build's dist/src/cli/main.js, the same run measures it first, as the baseline.
import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { workloadApiService } from '../src/common/grpc/protos.js';
import { readDer } from '../src/pki/der.js';
import { percentile } from './agent.js';
import { adminApi, freePort, metricValue, startSigil, type BenchProcess } from './sigil-processes.js';

interface SvidMessage {
  svids: { spiffe_id: string; x509_svid: Buffer }[];
}
interface StreamClient extends grpc.Client {
  FetchX509SVID(req: object, md: grpc.Metadata): grpc.ClientReadableStream<SvidMessage>;
}

export interface ScaleResult {
  label: string;
  entries: number;
  fullIssuanceSeconds: number;
  rssBeforeMiB: number;
  rssHoldingMiB: number;
  metricsBytes: number;
  createMs: number[];
  deleteMs: number[];
  revokeMs: number[];
  restartReadySeconds: number;
  restartAllHeldSeconds: number;
  reissuedOnRestart: number;
}

const currentCli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const header = () => {
  const md = new grpc.Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
};
/** Serial of the leaf, the first certificate of a concatenated DER chain. */
const serialOf = (chain: Buffer) => new X509Certificate(chain.subarray(0, readDer(chain, 0).end)).serialNumber.toLowerCase();

/** Resolves when `predicate` holds for a message on the stream (checked on each message and at once on the latest). */
class StreamWatcher {
  latest: SvidMessage | undefined;
  private waiters: { predicate: (m: SvidMessage) => boolean; resolve: () => void }[] = [];
  constructor(readonly stream: grpc.ClientReadableStream<SvidMessage>) {
    stream.on('data', (m: SvidMessage) => {
      this.latest = m;
      this.waiters = this.waiters.filter((w) => (w.predicate(m) ? (w.resolve(), false) : true));
    });
    stream.on('error', () => undefined);
  }
  until(predicate: (m: SvidMessage) => boolean, timeoutMs = 60_000): Promise<void> {
    if (this.latest && predicate(this.latest)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('stream did not get there in time')), timeoutMs);
      this.waiters.push({ predicate, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function measureBuild(label: string, cli: string, count: number, trials: number): Promise<ScaleResult> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-scale-'));
  const adminAddr = `127.0.0.1:${await freePort()}`;
  const agentApiAddr = `127.0.0.1:${await freePort()}`;
  const healthAddr = `127.0.0.1:${await freePort()}`;
  const processes: BenchProcess[] = [];
  try {
    const server = await startSigil(cli, ['server', 'run'], { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: adminAddr, SIGIL_AGENT_API_ADDR: agentApiAddr, SIGIL_LOG_LEVEL: 'warn' }, adminAddr);
    processes.push(server);
    const api = adminApi(adminAddr, join(dir, 'server'));
    writeFileSync(join(dir, 'bundle.pem'), await (await fetch(`http://${adminAddr}/v1/bundle?format=pem`)).text());
    writeFileSync(join(dir, 'agent.yaml'), `trust_domain: bench.org\nmax_svids: ${count * 2}\nlog_level: warn\n`);
    const agentArgs = ['agent', 'run', '--config', join(dir, 'agent.yaml'), '--server-address', agentApiAddr, '--trust-bundle', join(dir, 'bundle.pem'), '--socket-path', join(dir, 'sock', 'api.sock'), '--data-dir', join(dir, 'agent')];
    const joinToken = (await api('POST', '/v1/join-tokens', {})).token as string;
    let agent = await startSigil(cli, [...agentArgs, '--join-token', joinToken], { SIGIL_AGENT_HEALTH_ADDR: healthAddr }, healthAddr);
    processes.push(agent);
    const metrics = async () => (await fetch(`http://${healthAddr}/metrics`)).text();
    const held = async () => metricValue(await metrics(), 'sigil_agent_cached_svids');
    const parentId = ((await api('GET', '/v1/agents')).agents as { spiffe_id: string }[])[0]?.spiffe_id as string;
    await api('POST', '/v1/entries', { spiffe_id: 'spiffe://bench.org/root/0', parent_id: parentId, selectors: [{ type: 'unix', value: 'uid:0' }] });
    await waitFor(async () => (await held()) >= 1, 30_000, 'the first SVID');
    const rssBeforeMiB = agent.rssMiB();

    const started = performance.now();
    for (let i = 0; i < count; i += 500) {
      const entries = Array.from({ length: Math.min(500, count - i) }, (_, j) => ({ spiffe_id: `spiffe://bench.org/w/${i + j}`, parent_id: parentId, selectors: [{ type: 'unix', value: `uid:${100_000 + i + j}` }] }));
      await api('POST', '/v1/entries/batch', { entries });
    }
    await waitFor(async () => (await held()) >= count + 1, 900_000, `${count} SVIDs held`);
    const fullIssuanceSeconds = (performance.now() - started) / 1000;
    const rssHoldingMiB = agent.rssMiB();
    const metricsBytes = Buffer.byteLength(await metrics());

    const Client = workloadApiService() as unknown as new (a: string, c: grpc.ChannelCredentials) => StreamClient;
    const client = new Client(`unix://${join(dir, 'sock', 'api.sock')}`, grpc.credentials.createInsecure());
    const watcher = new StreamWatcher(client.FetchX509SVID({}, header()));
    await watcher.until((m) => m.svids.length >= 1);
    const createMs: number[] = [];
    const deleteMs: number[] = [];
    const revokeMs: number[] = [];
    for (let t = 0; t < trials; t++) {
      const spiffeId = `spiffe://bench.org/root/trial-${t}`;
      let start = performance.now();
      const entry = await api('POST', '/v1/entries', { spiffe_id: spiffeId, parent_id: parentId, selectors: [{ type: 'unix', value: 'uid:0' }] });
      await watcher.until((m) => m.svids.some((s) => s.spiffe_id === spiffeId));
      createMs.push(performance.now() - start);
      const svid = watcher.latest?.svids.find((s) => s.spiffe_id === spiffeId);
      const serial = serialOf(svid?.x509_svid as Buffer);
      start = performance.now();
      await api('POST', '/v1/svids/revoke', { serial, reason: 'keyCompromise' });
      await watcher.until((m) => m.svids.some((s) => s.spiffe_id === spiffeId && serialOf(s.x509_svid) !== serial));
      revokeMs.push(performance.now() - start);
      start = performance.now();
      await api('DELETE', `/v1/entries/${entry.id as string}`);
      await watcher.until((m) => !m.svids.some((s) => s.spiffe_id === spiffeId));
      deleteMs.push(performance.now() - start);
    }
    watcher.stream.cancel();
    client.close();

    const issuedRows = () => {
      const db = new Database(join(dir, 'server', 'sigil.db'), { readonly: true, fileMustExist: true });
      try {
        return (db.prepare("SELECT COUNT(*) AS n FROM issued_svids WHERE kind = 'workload'").get() as { n: number }).n;
      } finally {
        db.close();
      }
    };
    const rowsBefore = issuedRows();
    await agent.stop();
    processes.pop();
    const restarted = performance.now();
    agent = await startSigil(cli, agentArgs, { SIGIL_AGENT_HEALTH_ADDR: healthAddr }, healthAddr, 900_000);
    processes.push(agent);
    const restartReadySeconds = (performance.now() - restarted) / 1000;
    await waitFor(async () => (await held()) >= count + 1, 900_000, 'every SVID again');
    const restartAllHeldSeconds = (performance.now() - restarted) / 1000;
    await new Promise((r) => setTimeout(r, 1000));
    return {
      label,
      entries: count,
      fullIssuanceSeconds,
      rssBeforeMiB,
      rssHoldingMiB,
      metricsBytes,
      createMs,
      deleteMs,
      revokeMs,
      restartReadySeconds,
      restartAllHeldSeconds,
      reissuedOnRestart: issuedRows() - rowsBefore,
    };
  } finally {
    for (const p of processes.reverse()) await p.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const p = (samples: number[], q: number) => percentile([...samples].sort((a, b) => a - b), q).toFixed(0);

export async function runAgentScaleBenchmark(count = Number(process.env.BENCH_SCALE_ENTRIES ?? 10_000), trials = Number(process.env.BENCH_SCALE_TRIALS ?? 30)): Promise<string[]> {
  const builds: [string, string][] = [];
  if (process.env.BENCH_BASELINE_CLI) builds.push([`baseline (${process.env.BENCH_BASELINE_LABEL ?? 'older build'})`, process.env.BENCH_BASELINE_CLI]);
  builds.push(['this build', currentCli]);
  const results: ScaleResult[] = [];
  for (const [label, cli] of builds) results.push(await measureBuild(label, cli, count, trials));
  const row = (name: string, value: (r: ScaleResult) => string) => `| ${name} | ${results.map(value).join(' | ')} |`;
  return [
    `### An agent with ${count.toLocaleString('en')} entries (separate server and agent processes)`,
    '',
    `| measurement | ${results.map((r) => r.label).join(' | ')} |`,
    `|---|${results.map(() => '---:').join('|')}|`,
    row('entries created → every SVID held (s)', (r) => r.fullIssuanceSeconds.toFixed(1)),
    row('agent RSS with 1 SVID → with all (MiB)', (r) => `${r.rssBeforeMiB.toFixed(0)} → ${r.rssHoldingMiB.toFixed(0)}`),
    row('agent RSS per held SVID (KiB)', (r) => (((r.rssHoldingMiB - r.rssBeforeMiB) * 1024) / r.entries).toFixed(1)),
    row('agent /metrics scrape (bytes)', (r) => r.metricsBytes.toLocaleString('en')),
    row(`entry create → SVID on an open stream, p50 / p99 (ms, ${trials} trials)`, (r) => `${p(r.createMs, 50)} / ${p(r.createMs, 99)}`),
    row('revoke → replacement on the stream, p50 / p99 (ms)', (r) => `${p(r.revokeMs, 50)} / ${p(r.revokeMs, 99)}`),
    row('entry delete → SVID gone from the stream, p50 / p99 (ms)', (r) => `${p(r.deleteMs, 50)} / ${p(r.deleteMs, 99)}`),
    row('agent restart → /ready (s)', (r) => r.restartReadySeconds.toFixed(1)),
    row('agent restart → every SVID held (s)', (r) => r.restartAllHeldSeconds.toFixed(1)),
    row('SVIDs issued again by the restart', (r) => r.reissuedOnRestart.toLocaleString('en')),
    '',
  ];
}
