// Revocation at size (issue 15 items 1-2): with N serials already revoked, what one more
// revocation costs on the server (wall time, and the longest the event loop is blocked meanwhile),
// beside the old way of signing the same CRL (@peculiar/x509's generator, which re-encodes every
// entry), and what the agent pays to read the CRL beside the old ASN.1 parser (which refuses past
// ~1,245 entries).
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/common/logger.js';
import { parseCertificateDer } from '../src/pki/certificates.js';
import { createCrl, parseCrlDer } from '../src/pki/crl.js';
import { revokedSerialsOfCrl } from '../src/pki/crl-der.js';
import { MemoryKeyManager } from '../src/server/ca/key-manager.js';
import { loadServerConfig } from '../src/server/config.js';
import { startServer, type RunningServer } from '../src/server/server.js';

const randomSerial = () => {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 1;
  return b.toString('hex');
};

/** Rows straight into issued_svids (issuing them through the CA would take minutes at 100k). */
function seed(server: RunningServer, authorityId: string, revoked: number, now: number): string[] {
  const insert = server.store.db.prepare(
    `INSERT INTO issued_svids (serial, spiffe_id, kind, authority_id, not_before, not_after, created_at, revoked_at, revocation_reason, revocation_seq)
     VALUES (?, 'spiffe://bench.org/old', 'mint', ?, ?, ?, ?, ?, ?, ?)`,
  );
  const base = server.store.revocations.lastRevocationSeq();
  const fresh: string[] = [];
  server.store.transaction(() => {
    for (let i = 1; i <= revoked; i++) insert.run(randomSerial(), authorityId, now - 60_000, now + 3_600_000, now - 60_000, now - 30_000, 'keyCompromise', base + i);
    for (let i = 0; i < 7; i++) {
      const serial = randomSerial();
      insert.run(serial, authorityId, now - 60_000, now + 3_600_000, now - 60_000, null, null, null);
      fresh.push(serial);
    }
  });
  return fresh;
}

/** Wall time of `fn`, and the longest stretch in which the event loop could not run anything else. */
async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; blockedMs: number; value: T }> {
  let last = performance.now();
  let blockedMs = 0;
  let ticking = true;
  const tick = () => {
    const now = performance.now();
    blockedMs = Math.max(blockedMs, now - last);
    last = now;
    if (ticking) setImmediate(tick);
  };
  setImmediate(tick);
  const start = performance.now();
  const value = await fn();
  const ms = performance.now() - start;
  ticking = false;
  tick();
  return { ms, blockedMs, value };
}

export async function runCrlBenchmark(sizes = (process.env.BENCH_CRL_SIZES ?? '200,1000,10000,100000').split(',').map(Number)): Promise<string[]> {
  const lines = [
    '### One revocation with N serials already revoked (ms)',
    '',
    '| N revoked | baseline: @peculiar/x509 CRL generator | revoke + new CRL (fast path), wall, median of 7 | longest event-loop block in it, median | CRL bytes | agent reads it: old parser | agent reads it: fast parser |',
    '|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const n of sizes) {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-crl-'));
    const keyManager = new MemoryKeyManager();
    const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: dir }), { log: silentLogger, keyManager, listen: false });
    try {
      const authority = server.store.authorities.list('x509').find((a) => a.state === 'active');
      if (!authority?.certificateDer) throw new Error('no active X.509 authority');
      const now = Date.now();
      const fresh = seed(server, authority.id, n, now);
      // The first CRL after start loads the list once (as at server start); then measure revocations.
      await server.context.crls.publish(authority.id);
      const samples = [];
      for (const serial of fresh) samples.push(await timed(() => server.context.revocations.revoke({ selector: { serial }, reason: 'keyCompromise', actor: 'bench' })));
      const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] as number;
      const wall = median(samples.map((s) => s.ms));
      const blocked = median(samples.map((s) => s.blockedMs));
      const der = server.context.crls.currentFor(authority.id)?.der as Uint8Array;

      let baseline = 'not run (minutes)';
      if (n <= 10_000) {
        const keys = await keyManager.get(authority.id);
        const revoked = server.store.revocations.revokedSignedBy(authority.id, now).map((r) => ({ serialHex: r.serial, revokedAt: new Date(r.revokedAt), reason: r.reason }));
        const start = performance.now();
        await createCrl({ issuer: { certificate: parseCertificateDer(authority.certificateDer), keys: keys as NonNullable<typeof keys> }, crlNumber: 99, thisUpdate: new Date(now), nextUpdate: new Date(now + 86_400_000), revoked });
        baseline = (performance.now() - start).toFixed(1);
      }
      let oldParse: string;
      try {
        const start = performance.now();
        if (parseCrlDer(der).entries.length !== n + fresh.length) throw new Error("old parser miscounted");
        oldParse = (performance.now() - start).toFixed(1);
      } catch (err) {
        oldParse = `fails: ${(err as Error).message}`;
      }
      const start = performance.now();
      const count = revokedSerialsOfCrl(der).length;
      const fastParse = (performance.now() - start).toFixed(1);
      if (count !== n + fresh.length) throw new Error(`the CRL lists ${count}, expected ${n + fresh.length}`);
      lines.push(`| ${n.toLocaleString('en')} | ${baseline} | ${wall.toFixed(1)} | ${blocked.toFixed(1)} | ${der.length.toLocaleString('en')} | ${oldParse} | ${fastParse} |`);
    } finally {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  lines.push('');
  return lines;
}
