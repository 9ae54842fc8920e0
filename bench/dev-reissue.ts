// Issue 10 goal 3, second half: one real `sigil dev` process (server and agent) holding 5,000
// SVIDs for one uid, and one Workload API stream of that uid. The active X.509 authority is
// replaced and tainted; measured: taint → the first message on the stream whose every SVID is
// new. Baseline in the same run: the initial issuance (entries created → the stream carries them all).
import * as grpc from '@grpc/grpc-js';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { workloadApiService } from '../src/common/grpc/protos.js';
import { adminApi, freePort, procMemoryMiB, startSigil } from './sigil-processes.js';

const cli = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const batch = 500;

interface SvidMessage {
  svids: { spiffe_id: string; x509_svid: Buffer }[];
}
interface FetchClient extends grpc.Client {
  FetchX509SVID(req: object, md: grpc.Metadata): grpc.ClientReadableStream<SvidMessage>;
}

/** The stream's messages, and a way to wait for one that passes a test. */
function watchStream(socketPath: string): { until(test: (m: SvidMessage) => boolean): Promise<SvidMessage>; close(): void } {
  const Client = workloadApiService() as unknown as new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => FetchClient;
  // 5,000 SVIDs with their bundles are ~12 MB per message; gRPC clients refuse over 4 MB by default.
  const client = new Client(`unix://${socketPath}`, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
  const metadata = new grpc.Metadata();
  metadata.set('workload.spiffe.io', 'true');
  const stream = client.FetchX509SVID({}, metadata);
  let waiter: { test: (m: SvidMessage) => boolean; resolve: (m: SvidMessage) => void } | undefined;
  let failure: Error | undefined;
  stream.on('data', (message: SvidMessage) => {
    if (waiter?.test(message)) {
      waiter.resolve(message);
      waiter = undefined;
    }
  });
  stream.on('error', (err: grpc.ServiceError) => {
    if (err.code !== grpc.status.CANCELLED) failure = err;
  });
  return {
    until: (test) =>
      new Promise((resolve, reject) => {
        if (failure) return reject(failure);
        waiter = { test, resolve };
        stream.once('error', reject);
      }),
    close: () => {
      stream.cancel();
      client.close();
    },
  };
}

export async function runDevReissueBenchmark(count = Number(process.env.BENCH_DEV_SVIDS ?? 5000)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-dev-'));
  chmodSync(dir, 0o755);
  const adminAddr = `127.0.0.1:${await freePort()}`;
  const env = { SIGIL_ADMIN_ADDR: adminAddr, SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_AGENT_HEALTH_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' };
  // Ready when the agent is: its socket exists only once it has attested.
  const dev = await startSigil(cli, ['dev'], env, env.SIGIL_AGENT_HEALTH_ADDR, 120_000, dir);
  let stream: ReturnType<typeof watchStream> | undefined;
  try {
    const api = adminApi(adminAddr, join(dir, '.sigil', 'server'));
    let agents: { spiffe_id: string }[] = [];
    for (let i = 0; i < 100 && agents.length === 0; i++) {
      agents = (await api('GET', '/v1/agents')).agents as { spiffe_id: string }[];
      if (agents.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    const parentId = agents[0]?.spiffe_id as string;
    const uid = process.getuid?.() ?? 0;
    stream = watchStream(join(dir, '.sigil', 'public', 'api.sock'));
    await stream.until((m) => m.svids.length >= 1);
    const ours = (m: SvidMessage) => m.svids.filter((s) => s.spiffe_id.startsWith('spiffe://example.org/bench/'));

    let start = performance.now();
    for (let i = 0; i < count; i += batch) {
      const entries = Array.from({ length: Math.min(batch, count - i) }, (_, j) => ({ spiffe_id: `spiffe://example.org/bench/w${i + j}`, parent_id: parentId, selectors: [{ type: 'unix', value: `uid:${uid}` }] }));
      await api('POST', '/v1/entries/batch', { entries });
    }
    const initial = await stream.until((m) => ours(m).length === count);
    const initialSeconds = (performance.now() - start) / 1000;

    const old = ((await api('GET', '/v1/authorities')).x509_authorities as { id: string; state: string }[]).find((a) => a.state === 'active');
    await api('POST', '/v1/authorities/x509/prepare', {});
    await api('POST', '/v1/authorities/x509/activate', {});
    const before = new Set(ours(initial).map((s) => s.x509_svid.toString('base64')));
    start = performance.now();
    await api('POST', `/v1/authorities/x509/${old?.id}/taint`);
    await stream.until((m) => {
      const mine = ours(m);
      return mine.length === count && mine.every((s) => !before.has(s.x509_svid.toString('base64')));
    });
    const reissueSeconds = (performance.now() - start) / 1000;
    return [
      `### One \`sigil dev\` process holding ${count.toLocaleString('en')} SVIDs for one uid, one Workload API stream`,
      '',
      '| measurement | SVIDs | seconds | SVIDs/s |',
      '|---|---:|---:|---:|',
      `| baseline: entries created → the stream carries every SVID | ${count.toLocaleString('en')} | ${initialSeconds.toFixed(1)} | ${Math.round(count / initialSeconds)} |`,
      `| taint → the stream carries ${count.toLocaleString('en')} fresh SVIDs | ${count.toLocaleString('en')} | ${reissueSeconds.toFixed(1)} | ${Math.round(count / reissueSeconds)} |`,
      `| \`sigil dev\` peak RSS (VmHWM) | | | ${procMemoryMiB(dev.child.pid as number, 'VmHWM').toFixed(0)} MiB |`,
      '',
    ];
  } finally {
    stream?.close();
    await dev.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
