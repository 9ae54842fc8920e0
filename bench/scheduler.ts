// The scheduler's expiry-alert scan over 1,000,000 issuance records (lessons-from-peers rows 13
// and 20): the due-alert query uses a partial index on next_alert_at, so its cost follows the
// alerts due, not the table. Baseline in the same run: a full scan of the same table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeClock } from '../src/common/clock.js';
import { silentLogger } from '../src/common/logger.js';
import { MemoryKeyManager } from '../src/server/ca/key-manager.js';
import { loadServerConfig } from '../src/server/config.js';
import { startServer } from '../src/server/server.js';

export async function runSchedulerBenchmark(records = Number(process.env.BENCH_RECORDS ?? 1_000_000)): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-scheduler-'));
  const clock = new FakeClock(Date.now());
  const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: dir }), { clock, log: silentLogger, keyManager: new MemoryKeyManager(), listen: false });
  try {
    const authority = server.store.authorities.active('x509')?.id as string;
    const now = clock.now().getTime();
    const insert = server.store.db.prepare(
      `INSERT INTO issued_svids (serial, spiffe_id, kind, authority_id, not_before, not_after, created_at, superseded_at, next_alert_at)
       VALUES (?, ?, 'workload', ?, ?, ?, ?, ?, ?)`,
    );
    const started = performance.now();
    // 1M records: most superseded long ago (the normal history of rotation), 1,000 current ones,
    // of which 100 are past their first alert threshold.
    const chunk = 50_000;
    for (let base = 0; base < records; base += chunk) {
      server.store.db.transaction(() => {
        for (let i = base; i < Math.min(records, base + chunk); i++) {
          const current = i >= records - 1000;
          const due = i >= records - 100;
          const notBefore = current ? now - (due ? 2_000_000 : 100_000) : now - 10_000_000 - i;
          const notAfter = notBefore + 3_600_000;
          insert.run(i.toString(16).padStart(32, '0'), `spiffe://bench.org/w/${i % 5000}`, authority, notBefore, notAfter, notBefore, current ? null : notBefore + 1_500_000, current ? notBefore + 1_800_000 : null);
        }
      })();
    }
    const loadSeconds = (performance.now() - started) / 1000;
    const time = (fn: () => void, runs = 5) => {
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) {
        const t0 = performance.now();
        fn();
        samples.push(performance.now() - t0);
      }
      return Math.min(...samples);
    };
    // What a scheduler without next_alert_at would run: the threshold computed on every row.
    const fullScan = time(() => server.store.db.prepare('SELECT serial FROM issued_svids NOT INDEXED WHERE superseded_at IS NULL AND revoked_at IS NULL AND (? - not_before) >= (not_after - not_before) * 0.5 AND alert_stage = 0 LIMIT 500').all(now));
    const dueQuery = time(() => server.store.svidLifecycle.dueAlerts(now, 500));
    const alertPass = time(() => server.scheduler.svidAlerts(), 1);
    const emptyPass = time(() => server.scheduler.svidAlerts());
    const alerts = server.store.events.listAfter(0, 10_000, ['svid.expiring']).length;
    return [
      `### Scheduler expiry scan over ${records.toLocaleString('en')} issuance records`,
      '',
      `Loading the records took ${loadSeconds.toFixed(1)} s. Best of 5 runs (the alert pass runs once: it changes state).`,
      '',
      '| measurement | ms |',
      '|---|---:|',
      `| baseline: the same question without the index (threshold computed per row, full scan) | ${fullScan.toFixed(2)} |`,
      `| due-alert query (partial index on next_alert_at) | ${dueQuery.toFixed(2)} |`,
      `| alert pass that raises ${alerts} svid.expiring events | ${alertPass.toFixed(2)} |`,
      '| alert pass with nothing due | ' + emptyPass.toFixed(2) + ' |',
      '',
    ];
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
