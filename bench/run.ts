// `npm run bench`: measured side by side with a baseline in the same run. Numbers go to stdout
// as a table; docs/benchmarks.md records a run. Never used as assertions in tests.
import { generateKeyPairSync, sign } from 'node:crypto';
import { rmSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { createSelfSignedCaCertificate, mintX509Leaf } from '../src/pki/certificates.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { MemoryKeyManager } from '../src/server/ca/key-manager.js';
import { loadServerConfig } from '../src/server/config.js';
import { startServer } from '../src/server/server.js';
import { runAgentBenchmarks } from './agent.js';
import { runAgentScaleBenchmark } from './agent-scale.js';
import { runAuthorizationBenchmark } from './authorization.js';
import { runCrlBenchmark } from './crl.js';
import { runRotationBenchmark } from './rotation.js';
import { runSchedulerBenchmark } from './scheduler.js';
import { runStreamsBenchmark } from './streams/benchmark.js';

interface Result {
  name: string;
  ops: number;
  seconds: number;
}

async function measure(name: string, ops: number, concurrency: number, fn: (i: number) => Promise<unknown> | unknown): Promise<Result> {
  for (let i = 0; i < Math.min(20, ops); i++) await fn(i); // warm-up
  const start = process.hrtime.bigint();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < ops) await fn(next++);
    }),
  );
  return { name, ops, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

/** `npm run bench -- crl agent` runs only those; no names runs every benchmark. */
const only = new Set(process.argv.slice(2));
const wanted = (name: string) => only.size === 0 || only.has(name);

async function runIssuanceBenchmark(): Promise<void> {
  const n = Number(process.env.BENCH_OPS ?? 2000);
  const results: Result[] = [];

  // Baseline: the ECDSA P-256 signature alone, the floor under any certificate.
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const tbs = Buffer.alloc(500, 7);
  results.push(await measure('baseline: node:crypto ECDSA P-256 sign (500 B)', n, 1, () => sign('sha256', tbs, privateKey)));

  const caKeys = await generateKeyPair('ec-p256');
  const now = Date.now();
  const caCert = await createSelfSignedCaCertificate(caKeys, { trustDomain: 'bench.org', subject: 'O=Bench', notBefore: new Date(now), notAfter: new Date(now + 86400_000) });
  const leafKey = await generateKeyPair('ec-p256');
  const mint = (i: number) =>
    mintX509Leaf({ spiffeId: `spiffe://bench.org/w/${i}`, dnsNames: [], subjectPublicKey: leafKey.publicKey, issuer: { certificate: caCert, keys: caKeys }, notBefore: new Date(now), notAfter: new Date(now + 3600_000) });
  results.push(await measure('mintX509Leaf (@peculiar/x509), serial', n, 1, mint));
  results.push(await measure('mintX509Leaf (@peculiar/x509), 32 in flight', n, 32, mint));

  const dataDir = mkdtempSync(join(tmpdir(), 'sigil-bench-'));
  const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: dataDir }), { log: silentLogger, keyManager: new MemoryKeyManager(), listen: false });
  results.push(
    await measure('CA.issueX509Svid (mint + self-check + SQLite commit), 32 in flight', n, 32, (i) =>
      server.ca.issueX509Svid({ spiffeId: `spiffe://bench.org/w/${i}`, dnsNames: [], subjectPublicKey: leafKey.publicKey, kind: 'workload' }),
    ),
  );
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });

  console.log(`### X.509-SVID issuance\n\n| benchmark | ops | seconds | ops/s |\n|---|---:|---:|---:|`);
  for (const r of results) console.log(`| ${r.name} | ${r.ops} | ${r.seconds.toFixed(2)} | ${Math.round(r.ops / r.seconds)} |`);
  console.log('');
}

const benchmarks: Record<string, () => Promise<void>> = {
  issuance: runIssuanceBenchmark,
  agent: async () => console.log((await runAgentBenchmarks()).join('\n')),
  authorization: async () => console.log((await runAuthorizationBenchmark()).join('\n')),
  scheduler: async () => console.log((await runSchedulerBenchmark()).join('\n')),
  rotation: async () => console.log((await runRotationBenchmark()).join('\n')),
  crl: async () => console.log((await runCrlBenchmark()).join('\n')),
  'agent-scale': async () => console.log((await runAgentScaleBenchmark()).join('\n')),
  streams: async () => console.log((await runStreamsBenchmark()).join('\n')),
};

async function main(): Promise<void> {
  const unknown = [...only].filter((name) => !(name in benchmarks));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(benchmarks).join(', ')})`);
  for (const [name, run] of Object.entries(benchmarks)) if (wanted(name)) await run();
}

await main();
