// Many CA rotations, with pruning (lessons-from-peers row 10: rotation must not degrade
// performance). Each epoch: a forced prepare + activate, 40 SVIDs issued, time moved past the
// previous CA's life and retention, one scheduler pass. The first epochs are the baseline.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../src/common/clock.js';
import { silentLogger } from '../src/common/logger.js';
import { generateKeyPair } from '../src/pki/keys.js';
import { MemoryKeyManager } from '../src/server/ca/key-manager.js';
import { loadServerConfig } from '../src/server/config.js';
import { startServer } from '../src/server/server.js';

export async function runRotationBenchmark(epochs = Number(process.env.BENCH_EPOCHS ?? 50), perEpoch = 40): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-rotation-'));
  const clock = new FakeClock(Date.now());
  const config = loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: dir });
  config.ca.ttl = 6 * 3600;
  config.lifecycle.retention = 3600;
  config.lifecycle.bundle_grace = 0;
  const server = await startServer(config, { clock, log: silentLogger, keyManager: new MemoryKeyManager(), listen: false });
  const key = await generateKeyPair('ec-p256');
  const rows: { epoch: number; msPerSvid: number; authorities: number; records: number; bundleCas: number }[] = [];
  try {
    for (let epoch = 1; epoch <= epochs; epoch++) {
      await server.ca.authorities.prepare('x509');
      await server.ca.authorities.activate('x509');
      const t0 = performance.now();
      for (let i = 0; i < perEpoch; i++) {
        await server.ca.issueX509Svid({ spiffeId: `spiffe://bench.org/w/${i}`, dnsNames: [], ttlSeconds: 3600, subjectPublicKey: key.publicKey, kind: 'mint' });
      }
      const msPerSvid = (performance.now() - t0) / perEpoch;
      const recordsBeforePrune = (server.store.db.prepare('SELECT COUNT(*) AS n FROM issued_svids').get() as { n: number }).n;
      clock.advance(config.ca.ttl * 1000 + config.lifecycle.retention * 1000 + 60_000);
      await server.scheduler.tick();
      const count = (table: string) => (server.store.db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      rows.push({ epoch, msPerSvid, authorities: count('authorities'), records: recordsBeforePrune, bundleCas: server.ca.x509BundleDer().length });
    }
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const first = rows.slice(0, 5);
  const last = rows.slice(-5);
  const line = (label: string, rs: typeof rows) =>
    `| ${label} | ${mean(rs.map((r) => r.msPerSvid)).toFixed(2)} | ${Math.max(...rs.map((r) => r.authorities))} | ${Math.max(...rs.map((r) => r.records))} | ${Math.max(...rs.map((r) => r.bundleCas))} |`;
  return [
    `### ${epochs} CA rotations with pruning (${perEpoch} SVIDs per CA)`,
    '',
    '| epochs | ms per SVID issued | authority rows (max) | issuance rows before the pass (max) | CAs in bundle (max) |',
    '|---|---:|---:|---:|---:|',
    line('baseline: rotations 1–5', first),
    line(`rotations ${epochs - 4}–${epochs}`, last),
    '',
  ];
}
