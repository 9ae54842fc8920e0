// Issue 10 goal 6: the store at size. 100,000 entries (1,000 of them under one agent) and
// 1,000,000 issuance records in a real SQLite file: REST list pages (first, deep, filtered), the
// database file size, and an agent's sync catch-up after an hour offline in which 5,000 of its
// entries changed among 100,000 other events. Baseline in the same run: the same list questions
// answered by reading every row (what a client paging with offsets would make the server do).
import { statSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { startAgent } from '../src/agent/agent.js';
import { loadAgentConfig } from '../src/agent/config.js';
import { silentLogger } from '../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../src/common/secrets.js';
import { MemoryKeyManager } from '../src/server/ca/key-manager.js';
import { loadServerConfig } from '../src/server/config.js';
import { startServer, type RunningServer } from '../src/server/server.js';
import { percentile } from './agent.js';

const p = (samples: number[], q: number) => percentile([...samples].sort((a, b) => a - b), q).toFixed(1);

function timeMs(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/** Entries straight into the tables in batches (the API would take minutes), with their events. */
function seedEntries(server: RunningServer, count: number, parentOf: (i: number) => string): void {
  const db = server.store.db;
  const entry = db.prepare(
    `INSERT INTO entries (id, spiffe_id, parent_id, selectors, dns_names, x509_svid_ttl, jwt_svid_ttl, hint, admin, revision, created_at, updated_at)
     VALUES (?, ?, ?, ?, '[]', 3600, 300, '', 0, 0, ?, ?)`,
  );
  const selector = db.prepare('INSERT INTO entry_selectors (entry_id, type, value) VALUES (?, ?, ?)');
  const now = Date.now();
  for (let base = 0; base < count; base += 10_000) {
    server.store.transaction(() => {
      for (let i = base; i < Math.min(count, base + 10_000); i++) {
        const id = `e${String(i).padStart(8, '0')}`;
        entry.run(id, `spiffe://bench.org/w/${i}`, parentOf(i), JSON.stringify([{ type: 'unix', value: `uid:${100_000 + i}` }]), now, now);
        selector.run(id, 'unix', `uid:${100_000 + i}`);
        server.store.events.append(now, 'entry.created', id);
      }
    });
  }
}

function seedIssuance(server: RunningServer, count: number): void {
  const authority = server.store.authorities.active('x509')?.id as string;
  const insert = server.store.db.prepare(
    `INSERT INTO issued_svids (serial, spiffe_id, kind, authority_id, not_before, not_after, created_at, superseded_at)
     VALUES (?, ?, 'workload', ?, ?, ?, ?, ?)`,
  );
  const now = Date.now();
  for (let base = 0; base < count; base += 50_000) {
    server.store.transaction(() => {
      for (let i = base; i < Math.min(count, base + 50_000); i++) {
        const notBefore = now - 10_000_000 + i;
        insert.run(i.toString(16).padStart(32, '0'), `spiffe://bench.org/w/${i % 100_000}`, authority, notBefore, notBefore + 3_600_000, notBefore, notBefore + 1_500_000);
      }
    });
  }
}

export async function runStoreScaleBenchmark(entries = Number(process.env.BENCH_STORE_ENTRIES ?? 100_000), records = Number(process.env.BENCH_STORE_RECORDS ?? 1_000_000), samples = 30): Promise<string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'sigil-bench-store-'));
  const server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'bench.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
    log: silentLogger,
    keyManager: new MemoryKeyManager(),
  });
  const lines: string[] = [];
  try {
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), 'bench', Date.now() + 600_000, Date.now());
    const agentConfig = (joinToken?: string) =>
      loadAgentConfig(undefined, {}, { trust_domain: 'bench.org', server_address: server.agentApi?.address, data_dir: join(dir, 'agent'), socket_path: join(dir, 'sock', 'api.sock'), join_token: joinToken, insecure_bootstrap: true, health_addr: '127.0.0.1:0' });
    let agent = await startAgent(agentConfig(token), { log: silentLogger });
    const agentId = agent.node.identity?.spiffeId as string;
    const held = Math.min(1000, entries);
    const seedStart = performance.now();
    seedEntries(server, entries, (i) => (i < held ? agentId : 'spiffe://bench.org/elsewhere'));
    seedIssuance(server, records);
    const seedSeconds = (performance.now() - seedStart) / 1000;
    while (agent.sync.entries.size < held) await new Promise((r) => setTimeout(r, 50));

    // REST list pages through the real app (supertest), with an admin token.
    const adminToken = generateSecretToken('sat');
    server.store.adminTokens.create(hashSecretToken(adminToken), 'bench', 'admin', Date.now());
    const http = supertest(server.app);
    const auth = { authorization: `Bearer ${adminToken}` };
    const listMs = async (path: string, query: Record<string, string | number>) => {
      const times: number[] = [];
      for (let i = 0; i < samples; i++) {
        const start = performance.now();
        const res = await http.get(path).set(auth).query(query);
        if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text}`);
        times.push(performance.now() - start);
      }
      return times;
    };
    let token100 = '';
    for (let i = 0; i < 500; i++) token100 = ((await http.get('/v1/entries').set(auth).query({ page_size: 100, ...(token100 && { page_token: token100 }) })).body as { next_page_token: string }).next_page_token;
    const first = await listMs('/v1/entries', { page_size: 100 });
    const deep = await listMs('/v1/entries', { page_size: 100, page_token: token100 });
    const bySpiffeId = await listMs('/v1/entries', { spiffe_id: `spiffe://bench.org/w/${entries - 1}` });
    const svidsFirst = await listMs('/v1/svids', { page_size: 100 });
    const scanAll = [0, 1, 2].map(() => timeMs(() => server.store.db.prepare('SELECT * FROM entries ORDER BY rowid').all()));
    const scanSvids = [0, 1, 2].map(() => timeMs(() => server.store.db.prepare('SELECT COUNT(*) FROM issued_svids WHERE spiffe_id LIKE ?').get('%/w/7')));

    // An hour offline: the agent stops; 5,000 changes to its entries, 100,000 other events.
    await agent.close();
    const now = Date.now();
    const changed = Math.min(5000, held * 5);
    server.store.transaction(() => {
      for (let i = 0; i < changed; i++) {
        const id = `e${String(i % held).padStart(8, '0')}`;
        server.store.db.prepare('UPDATE entries SET hint = ?, revision = revision + 1, updated_at = ? WHERE id = ?').run(`h${i}`, now, id);
        server.store.events.append(now, 'entry.updated', id);
      }
      for (let i = 0; i < 100_000; i++) server.store.events.append(now, 'svid.issued', `spiffe://bench.org/w/${held + (i % 1000)}`, {});
    });
    const restart = performance.now();
    agent = await startAgent(agentConfig(), { log: silentLogger });
    const latest = server.store.entries.authorizedFor(agentId);
    const caughtUp = () => latest.every((e) => agent.sync.entries.get(e.id)?.revision === e.revision);
    while (!caughtUp()) await new Promise((r) => setTimeout(r, 10));
    const catchUpMs = performance.now() - restart;
    await agent.close();
    const dbBytes = ['sigil.db', 'sigil.db-wal'].reduce((n, f) => {
      try {
        return n + statSync(join(dir, 'server', f)).size;
      } catch {
        return n;
      }
    }, 0);

    lines.push(
      `### The store with ${entries.toLocaleString('en')} entries and ${records.toLocaleString('en')} issuance records (ms)`,
      '',
      '| measurement | p50 | p99 |',
      '|---|---:|---:|',
      `| baseline: read every entry (what an offset-paged list costs at the end) | ${p(scanAll, 50)} | ${p(scanAll, 99)} |`,
      `| GET /v1/entries, first page of 100 | ${p(first, 50)} | ${p(first, 99)} |`,
      `| GET /v1/entries, page 501 of 100 (cursor) | ${p(deep, 50)} | ${p(deep, 99)} |`,
      `| GET /v1/entries?spiffe_id= (indexed) | ${p(bySpiffeId, 50)} | ${p(bySpiffeId, 99)} |`,
      `| baseline: an unindexed question over every issuance record | ${p(scanSvids, 50)} | ${p(scanSvids, 99)} |`,
      `| GET /v1/svids, first page of 100 | ${p(svidsFirst, 50)} | ${p(svidsFirst, 99)} |`,
      '',
      '| measurement | value |',
      '|---|---:|',
      `| agent holding ${held.toLocaleString('en')} entries back after an hour offline (${changed.toLocaleString('en')} of its entries changed, 100,000 other events): restart → caught up | ${catchUpMs.toFixed(0)} ms |`,
      `| database file (with WAL) | ${(dbBytes / 2 ** 20).toFixed(0)} MiB |`,
      `| seeding (direct inserts) | ${seedSeconds.toFixed(1)} s |`,
      '',
    );
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return lines;
}
