import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

test('many concurrent writers: no SQLITE_BUSY, no lost rows, gap-free event ids', async () => {
  const auth = { Authorization: `Bearer ${t.adminToken}` };
  const startId = t.server.store.events.lastId();
  const n = 200;
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      i % 4 === 3
        ? t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: `spiffe://example.org/conc/mint-${i}` })
        : t.http.post('/v1/entries').set(auth).send({ spiffe_id: `spiffe://example.org/conc/${i}`, parent_id: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: `uid:${i}` }] }),
    ),
  );
  assert.deepEqual(results.filter((r) => r.status !== 201).map((r) => r.text), []);
  const entries = t.server.store.db.prepare("SELECT COUNT(*) AS n FROM entries WHERE spiffe_id LIKE 'spiffe://example.org/conc/%'").get() as { n: number };
  const svids = t.server.store.db.prepare("SELECT COUNT(*) AS n FROM issued_svids WHERE spiffe_id LIKE 'spiffe://example.org/conc/mint-%'").get() as { n: number };
  assert.equal(entries.n, n * 0.75);
  assert.equal(svids.n, n * 0.25);
  const ids = (t.server.store.db.prepare('SELECT id FROM events WHERE id > ? ORDER BY id').all(startId) as { id: number }[]).map((r) => r.id);
  assert.equal(ids.length, n);
  ids.forEach((id, i) => assert.equal(id, startId + 1 + i, 'event ids have no gaps'));
});
