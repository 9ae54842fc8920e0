import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openStore } from '../../../src/store/store.js';
import { startTestServer, tempDir, type TestServer } from '../../helpers/test-server.js';
import { capturingLogger } from '../../helpers/log-capture.js';

let t: TestServer;
let auth: Record<string, string>;
before(async () => {
  t = await startTestServer();
  auth = { Authorization: `Bearer ${t.adminToken}` };
});
after(async () => {
  await t.close();
});

const agentId = 'spiffe://example.org/sigil/agent/join_token/n1';
const entry = (path: string, extra: Record<string, unknown> = {}) => ({
  spiffe_id: `spiffe://example.org/${path}`,
  parent_id: agentId,
  selectors: [{ type: 'unix', value: 'uid:1000' }],
  ...extra,
});

describe('entries: happy path', () => {
  test('create, get, update, delete', async () => {
    const created = await t.http.post('/v1/entries').set(auth).send(entry('crud', { dns_names: ['crud.local'], x509_svid_ttl: '30m', hint: 'h' })).expect(201);
    assert.equal(created.body.spiffe_id, 'spiffe://example.org/crud');
    assert.equal(created.body.x509_svid_ttl, 1800);
    assert.equal(created.body.jwt_svid_ttl, t.config.svid.default_jwt_ttl);
    assert.equal(created.body.revision, 0);
    const got = await t.http.get(`/v1/entries/${created.body.id}`).set(auth).expect(200);
    assert.deepEqual(got.body, created.body);
    const updated = await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({ hint: 'new', revision: 0 }).expect(200);
    assert.equal(updated.body.hint, 'new');
    assert.equal(updated.body.revision, 1);
    const stale = await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({ hint: 'lost', revision: 0 }).expect(409);
    assert.match(stale.body.error.message, /revision 1, not 0/);
    await t.http.delete(`/v1/entries/${created.body.id}`).set(auth).expect(204);
    await t.http.get(`/v1/entries/${created.body.id}`).set(auth).expect(404);
    await t.http.delete(`/v1/entries/${created.body.id}`).set(auth).expect(404);
  });

  test('every change is an event, in order, and audited', async () => {
    const before = await t.http.get('/v1/events').set(auth).query({ after: 0, limit: 1000 }).expect(200);
    const created = await t.http.post('/v1/entries').set(auth).send(entry('evented')).expect(201);
    await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({ admin: true }).expect(200);
    await t.http.delete(`/v1/entries/${created.body.id}`).set(auth).expect(204);
    const after = await t.http.get('/v1/events').set(auth).query({ after: before.body.last_id, type: ['entry.created', 'entry.updated', 'entry.deleted'] }).expect(200);
    const mine = after.body.events.filter((e: { subject: string }) => e.subject === created.body.id);
    assert.deepEqual(mine.map((e: { type: string }) => e.type), ['entry.created', 'entry.updated', 'entry.deleted']);
    const ids = after.body.events.map((e: { id: number }) => e.id);
    assert.deepEqual(ids, [...ids].sort((a: number, b: number) => a - b));
    const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'entry.update', page_size: 1000 }).expect(200);
    assert.ok(audit.body.records.some((r: { target: string; result: string; actor: string }) => r.target === created.body.id && r.result === 'ok' && r.actor === 'token:bootstrap'));
  });

  test('lessons row 19: an entry shows the TTL its SVIDs get now and what caps it', async () => {
    const long = await t.http.post('/v1/entries').set(auth).send(entry('long-ttl', { x509_svid_ttl: '30d' })).expect(201);
    assert.equal(long.body.x509_svid_ttl, 30 * 86400, 'what was asked is kept');
    assert.equal(long.body.effective_x509_svid_ttl, t.config.svid.max_ttl);
    assert.equal(long.body.x509_svid_ttl_capped_by, 'max_ttl');
    const plain = await t.http.post('/v1/entries').set(auth).send(entry('plain-ttl', { x509_svid_ttl: 600 })).expect(201);
    assert.equal(plain.body.effective_x509_svid_ttl, 600);
    assert.equal(plain.body.x509_svid_ttl_capped_by, null);
  });

  test('duplicate entries are 409', async () => {
    await t.http.post('/v1/entries').set(auth).send(entry('dup')).expect(201);
    const res = await t.http.post('/v1/entries').set(auth).send(entry('dup')).expect(409);
    assert.equal(res.body.error.code, 'conflict');
    const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'entry.create', result: 'error', page_size: 1000 }).expect(200);
    assert.ok(audit.body.records.some((r: { target: string }) => r.target === 'spiffe://example.org/dup'));
  });

  test('batch create reports each entry on its own', async () => {
    const res = await t.http
      .post('/v1/entries/batch')
      .set(auth)
      .send({ entries: [entry('batch-1'), entry('batch-1'), { spiffe_id: 'nope' }, 'x'] })
      .expect(200);
    const codes = res.body.results.map((r: { status: { code: string } }) => r.status.code);
    assert.deepEqual(codes, ['ok', 'conflict', 'invalid_argument', 'invalid_argument']);
    assert.equal(res.body.results[0].entry.spiffe_id, 'spiffe://example.org/batch-1');
  });
});

describe('entries: listing and pagination', () => {
  test('filters by spiffe_id, parent_id and selectors', async () => {
    await t.http.post('/v1/entries').set(auth).send(entry('filter-a', { selectors: [{ type: 'unix', value: 'uid:1' }, { type: 'unix', value: 'gid:1' }] })).expect(201);
    await t.http.post('/v1/entries').set(auth).send(entry('filter-b', { parent_id: 'spiffe://example.org/other-agent', selectors: [{ type: 'unix', value: 'uid:1' }] })).expect(201);
    const bySpiffe = await t.http.get('/v1/entries').set(auth).query({ spiffe_id: 'spiffe://example.org/filter-a' }).expect(200);
    assert.equal(bySpiffe.body.entries.length, 1);
    const byParent = await t.http.get('/v1/entries').set(auth).query({ parent_id: 'spiffe://example.org/other-agent' }).expect(200);
    assert.deepEqual(byParent.body.entries.map((e: { spiffe_id: string }) => e.spiffe_id), ['spiffe://example.org/filter-b']);
    const superset = await t.http.get('/v1/entries').set(auth).query({ selector: 'unix:uid:1' }).expect(200);
    assert.deepEqual(superset.body.entries.map((e: { spiffe_id: string }) => e.spiffe_id).sort(), ['spiffe://example.org/filter-a', 'spiffe://example.org/filter-b']);
    const exact = await t.http.get('/v1/entries').set(auth).query({ selector: 'unix:uid:1', match: 'exact' }).expect(200);
    assert.deepEqual(exact.body.entries.map((e: { spiffe_id: string }) => e.spiffe_id), ['spiffe://example.org/filter-b']);
    const both = await t.http.get('/v1/entries').set(auth).query({ selector: ['unix:uid:1', 'unix:gid:1'] }).expect(200);
    assert.deepEqual(both.body.entries.map((e: { spiffe_id: string }) => e.spiffe_id), ['spiffe://example.org/filter-a']);
    const subset = await t.http.get('/v1/entries').set(auth).query({ selector: ['unix:uid:1', 'unix:gid:9'], match: 'subset' }).expect(200);
    assert.deepEqual(subset.body.entries.map((e: { spiffe_id: string }) => e.spiffe_id), ['spiffe://example.org/filter-b']);
    const any = await t.http.get('/v1/entries').set(auth).query({ selector: ['unix:gid:1', 'unix:gid:9'], match: 'any' }).expect(200);
    assert.deepEqual(any.body.entries.map((e: { spiffe_id: string }) => e.spiffe_id), ['spiffe://example.org/filter-a']);
  });

  test('pages through every entry exactly once', async () => {
    const parent = 'spiffe://example.org/paging-agent';
    for (let i = 0; i < 7; i++) await t.http.post('/v1/entries').set(auth).send(entry(`page-${i}`, { parent_id: parent })).expect(201);
    const seen: string[] = [];
    let token = '';
    let pages = 0;
    do {
      const res = await t.http.get('/v1/entries').set(auth).query({ parent_id: parent, page_size: 3, ...(token && { page_token: token }) }).expect(200);
      seen.push(...res.body.entries.map((e: { spiffe_id: string }) => e.spiffe_id));
      token = res.body.next_page_token;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.equal(seen.length, 7);
    assert.equal(new Set(seen).size, 7);
  });

  test('a forged page token is 400', async () => {
    const res = await t.http.get('/v1/entries').set(auth).query({ page_token: 'garbage!' }).expect(400);
    assert.match(res.body.error.message, /page_token/);
  });
});

describe('entries: bad input', () => {
  const cases: [string, unknown, number, RegExp][] = [
    ['ID-02 query in spiffe_id', entry('x?y'), 400, /spiffe_id: invalid SPIFFE ID: path segment characters/],
    ['ID-05 uppercase trust domain', { ...entry('x'), spiffe_id: 'spiffe://Example.org/x' }, 400, /spiffe_id: invalid SPIFFE ID: trust domain characters/],
    ['ID-10 dot segment', entry('a/../b'), 400, /spiffe_id: invalid SPIFFE ID: path cannot contain dot segments/],
    ['ID-11 trailing slash', entry('a/'), 400, /spiffe_id: invalid SPIFFE ID: path cannot have a trailing slash/],
    ['X-05 root path', { ...entry('x'), spiffe_id: 'spiffe://example.org' }, 400, /spiffe_id: must have a non-root path/],
    ['wrong scheme', { ...entry('x'), parent_id: 'https://example.org/a' }, 400, /parent_id: invalid SPIFFE ID: scheme is missing or invalid/],
    ['foreign trust domain', { ...entry('x'), spiffe_id: 'spiffe://other.org/x' }, 422, /spiffe_id: spiffe:\/\/other\.org\/x is not in trust domain example\.org/],
    ['no selectors', { ...entry('x'), selectors: [] }, 400, /selectors: at least one selector is required/],
    ['selector without value', { ...entry('x'), selectors: [{ type: 'unix', value: '' }] }, 400, /selectors\[0\]\.value: must not be empty/],
    ['unknown field', { ...entry('x'), color: 'red' }, 400, /color: unknown key/],
    ['bad ttl', entry('x', { x509_svid_ttl: 'soon' }), 400, /x509_svid_ttl: not a duration/],
    ['negative ttl', entry('x', { jwt_svid_ttl: -5 }), 400, /jwt_svid_ttl: not a duration/],
    ['bad dns name', entry('x', { dns_names: ['not a name'] }), 400, /dns_names\[0\]: must be a DNS name/],
    ['missing spiffe_id', { parent_id: agentId, selectors: [{ type: 'unix', value: 'uid:1' }] }, 400, /spiffe_id: /],
    ['wrong type', entry('x', { admin: 'yes' }), 400, /admin: /],
  ];
  for (const [name, body, status, message] of cases) {
    test(`${name} → ${status}`, async () => {
      const res = await t.http.post('/v1/entries').set(auth).send(body as object).expect(status);
      assert.match(res.body.error.message, message);
      const list = await t.http.get('/v1/entries').set(auth).query({ spiffe_id: 'spiffe://example.org/x' }).expect(200);
      assert.equal(list.body.entries.length, 0, 'nothing was stored');
    });
  }

  test('invalid JSON is 400', async () => {
    const res = await t.http.post('/v1/entries').set(auth).set('Content-Type', 'application/json').send('{"spiffe_id":').expect(400);
    assert.match(res.body.error.message, /not valid JSON/);
  });

  test('a non-JSON body is 415', async () => {
    const res = await t.http.post('/v1/entries').set(auth).set('Content-Type', 'text/plain').send('hello').expect(415);
    assert.equal(res.body.error.code, 'unsupported_media_type');
  });

  test('a JSON array body is 400', async () => {
    const res = await t.http.post('/v1/entries').set(auth).send([entry('x')]).expect(400);
    assert.match(res.body.error.message, /must be a JSON object/);
  });

  test('a body over 1 MiB is 413', async () => {
    const res = await t.http.post('/v1/entries').set(auth).send(entry('x', { hint: 'a'.repeat(1024 * 1024 + 10) })).expect(413);
    assert.equal(res.body.error.code, 'payload_too_large');
  });

  test('a batch over 500 entries is 400', async () => {
    const res = await t.http.post('/v1/entries/batch').set(auth).send({ entries: Array.from({ length: 501 }, (_, i) => entry(`b${i}`)) }).expect(400);
    assert.match(res.body.error.message, /entries: /);
  });

  test('bad path id is 400, unknown id is 404', async () => {
    const bad = await t.http.get('/v1/entries/not-a-uuid').set(auth).expect(400);
    assert.match(bad.body.error.message, /id: must be an entry id/);
    await t.http.get('/v1/entries/00000000-0000-4000-8000-000000000000').set(auth).expect(404);
  });

  test('update with nothing to change is 400', async () => {
    const created = await t.http.post('/v1/entries').set(auth).send(entry('empty-update')).expect(201);
    const res = await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({}).expect(400);
    assert.match(res.body.error.message, /at least one field/);
  });

  test('bad query parameters are 400 and name the parameter', async () => {
    const a = await t.http.get('/v1/entries').set(auth).query({ page_size: 0 }).expect(400);
    assert.match(a.body.error.message, /page_size/);
    const b = await t.http.get('/v1/entries').set(auth).query({ selector: 'novalue' }).expect(400);
    assert.match(b.body.error.message, /selector/);
    const c = await t.http.get('/v1/entries').set(auth).query({ colour: 'x' }).expect(400);
    assert.match(c.body.error.message, /colour: unknown key/);
    const d = await t.http.get('/v1/entries').set(auth).query({ match: 'fuzzy' }).expect(400);
    assert.match(d.body.error.message, /match/);
  });
});

describe('entries: the reserved /sigil path', () => {
  const reserved = ['sigil', 'sigil/server', `sigil/agent/join_token/${randomUUID()}`, 'sigil/anything/else'];
  for (const path of reserved) {
    test(`an entry for spiffe://example.org/${path} is 400 and names spiffe_id`, async () => {
      const res = await t.http.post('/v1/entries').set(auth).send(entry(path)).expect(400);
      assert.equal(res.body.error.code, 'invalid_argument');
      assert.match(res.body.error.message, /^invalid body: spiffe_id: spiffe:\/\/example\.org\/sigil\S* is reserved: \/sigil and every path under it name Sigil's own server and agents$/);
      const list = await t.http.get('/v1/entries').set(auth).query({ spiffe_id: `spiffe://example.org/${path}` }).expect(200);
      assert.equal(list.body.entries.length, 0, 'nothing was stored');
    });
  }

  test('ID-16: only the exact /sigil segment is reserved (paths are case-sensitive)', async () => {
    for (const path of ['Sigil/server', 'sigilx', 'app/sigil/server']) {
      await t.http.post('/v1/entries').set(auth).send(entry(path)).expect(201);
    }
  });

  test('parent_id may be an agent ID: that is how entries are given to agents', async () => {
    const res = await t.http.post('/v1/entries').set(auth).send(entry('child-of-agent', { parent_id: agentId })).expect(201);
    assert.equal(res.body.parent_id, agentId);
  });

  test('an update to a reserved spiffe_id is 400 and changes nothing', async () => {
    const created = await t.http.post('/v1/entries').set(auth).send(entry('to-be-server')).expect(201);
    const res = await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({ spiffe_id: 'spiffe://example.org/sigil/server' }).expect(400);
    assert.match(res.body.error.message, /spiffe_id: spiffe:\/\/example\.org\/sigil\/server is reserved/);
    const got = await t.http.get(`/v1/entries/${created.body.id}`).set(auth).expect(200);
    assert.equal(got.body.spiffe_id, 'spiffe://example.org/to-be-server');
    assert.equal(got.body.revision, 0);
  });

  test('a reserved entry in a batch fails on its own', async () => {
    const res = await t.http.post('/v1/entries/batch').set(auth).send({ entries: [entry('batch-ok'), entry('sigil/server')] }).expect(200);
    assert.deepEqual(res.body.results.map((r: { status: { code: string } }) => r.status.code), ['ok', 'invalid_argument']);
    assert.match(res.body.results[1].status.message, /is reserved/);
  });
});

describe('entries: input limits', () => {
  const td = 'spiffe://example.org/';
  const idOfBytes = (bytes: number) => td + 'a'.repeat(bytes - td.length);

  test('ID-14: a SPIFFE ID of exactly 2048 bytes is accepted', async () => {
    const res = await t.http.post('/v1/entries').set(auth).send({ ...entry('x'), spiffe_id: idOfBytes(2048), parent_id: idOfBytes(2048) }).expect(201);
    assert.equal(res.body.spiffe_id.length, 2048);
  });

  const tooLong: [string, Record<string, unknown>, RegExp][] = [
    ['ID-14 spiffe_id of 2049 bytes', { spiffe_id: idOfBytes(2049) }, /spiffe_id: invalid SPIFFE ID: SPIFFE ID is 2049 bytes; the maximum is 2048 bytes/],
    ['ID-14 spiffe_id of 3 KB (a 400, not hidden by the body limit)', { spiffe_id: idOfBytes(3072) }, /spiffe_id: invalid SPIFFE ID: SPIFFE ID is 3072 bytes/],
    ['ID-14 spiffe_id of 100 KB', { spiffe_id: idOfBytes(100 * 1024) }, /spiffe_id: invalid SPIFFE ID: SPIFFE ID is 102400 bytes/],
    ['ID-14 parent_id of 3 KB', { parent_id: idOfBytes(3072) }, /parent_id: invalid SPIFFE ID: SPIFFE ID is 3072 bytes/],
    ['ID-15 trust domain of 256 bytes', { spiffe_id: `spiffe://${'a'.repeat(256)}/x` }, /spiffe_id: invalid SPIFFE ID: trust domain is 256 bytes; the maximum is 255 bytes/],
  ];
  for (const [name, fields, message] of tooLong) {
    test(`${name} → 400`, async () => {
      const res = await t.http.post('/v1/entries').set(auth).send({ ...entry('x'), ...fields }).expect(400);
      assert.equal(res.body.error.code, 'invalid_argument');
      assert.match(res.body.error.message, message);
    });
  }

  test('ID-14: an update to a 3 KB spiffe_id is 400, and so is a 3 KB filter', async () => {
    const created = await t.http.post('/v1/entries').set(auth).send(entry('long-update')).expect(201);
    const res = await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({ spiffe_id: idOfBytes(3072) }).expect(400);
    assert.match(res.body.error.message, /spiffe_id: invalid SPIFFE ID: SPIFFE ID is 3072 bytes/);
    const filter = await t.http.get('/v1/entries').set(auth).query({ parent_id: idOfBytes(3072) }).expect(400);
    assert.match(filter.body.error.message, /parent_id: invalid SPIFFE ID: SPIFFE ID is 3072 bytes/);
  });

  const badTtl: [string, Record<string, unknown>, RegExp][] = [
    ['x509_svid_ttl 0', { x509_svid_ttl: 0 }, /x509_svid_ttl: must be at least 1s, not 0/],
    ['x509_svid_ttl "0s"', { x509_svid_ttl: '0s' }, /x509_svid_ttl: must be at least 1s, not "0s"/],
    ['x509_svid_ttl "0.5s" (rounds down to 0)', { x509_svid_ttl: '0.5s' }, /x509_svid_ttl: must be at least 1s/],
    ['jwt_svid_ttl "0"', { jwt_svid_ttl: '0' }, /jwt_svid_ttl: must be at least 1s/],
    ['jwt_svid_ttl "-1h"', { jwt_svid_ttl: '-1h' }, /jwt_svid_ttl: not a duration/],
  ];
  for (const [name, fields, message] of badTtl) {
    test(`${name} → 400`, async () => {
      const res = await t.http.post('/v1/entries').set(auth).send(entry('zero-ttl', fields)).expect(400);
      assert.match(res.body.error.message, message);
    });
  }

  test('"1h" and 1 are TTLs; an update to TTL 0 is 400', async () => {
    const created = await t.http.post('/v1/entries').set(auth).send(entry('ttl-1h', { x509_svid_ttl: '1h', jwt_svid_ttl: 1 })).expect(201);
    assert.equal(created.body.x509_svid_ttl, 3600);
    assert.equal(created.body.jwt_svid_ttl, 1);
    const res = await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({ x509_svid_ttl: 0 }).expect(400);
    assert.match(res.body.error.message, /x509_svid_ttl: must be at least 1s/);
  });

  const controls: [string, Record<string, unknown>, RegExp][] = [
    ['NUL in a selector value', { selectors: [{ type: 'unix', value: 'uid:1000\u0000' }] }, /selectors\[0\]\.value: must not contain control characters/],
    ['escape in a selector value', { selectors: [{ type: 'unix', value: '\u001b[2Juid:1' }] }, /selectors\[0\]\.value: must not contain control characters/],
    ['DEL in a selector value', { selectors: [{ type: 'unix', value: 'uid:1\u007f' }] }, /selectors\[0\]\.value: must not contain control characters/],
    ['C1 CSI in a selector value', { selectors: [{ type: 'unix', value: 'uid:1\u009b' }] }, /selectors\[0\]\.value: must not contain control characters/],
    ['NUL in a selector type', { selectors: [{ type: 'unix\u0000', value: 'uid:1' }] }, /selectors\[0\]\.type: must be lowercase letters/],
    ['newline in the hint', { hint: 'a\nb' }, /hint: must not contain control characters/],
    ['NUL in a DNS name', { dns_names: ['web.local\u0000.evil'] }, /dns_names\[0\]: must be a DNS name/],
  ];
  for (const [name, fields, message] of controls) {
    test(`${name} → 400`, async () => {
      const res = await t.http.post('/v1/entries').set(auth).send(entry('controls', fields)).expect(400);
      assert.match(res.body.error.message, message);
    });
  }

  test('an update with a control character in the hint is 400; printable Unicode is fine', async () => {
    const created = await t.http.post('/v1/entries').set(auth).send(entry('hint-update', { hint: 'café ☕', selectors: [{ type: 'unix', value: 'path:/opt/ünïcode app' }] })).expect(201);
    assert.equal(created.body.hint, 'café ☕');
    const res = await t.http.patch(`/v1/entries/${created.body.id}`).set(auth).send({ hint: 'x\u0000' }).expect(400);
    assert.match(res.body.error.message, /hint: must not contain control characters/);
  });
});

describe('entries stored before the rules', () => {
  test('at start, each entry with a reserved or over-long SPIFFE ID is logged as an error, with its id', async () => {
    const dataDir = tempDir();
    try {
      const store = openStore(join(dataDir, 'sigil.db'));
      const fields = (spiffeId: string) => ({ spiffeId, parentId: agentId, selectors: [{ type: 'unix', value: 'uid:1' }], dnsNames: [], x509SvidTtl: 600, jwtSvidTtl: 300, hint: '', admin: false });
      const server = store.entries.create(fields('spiffe://example.org/sigil/server'), Date.now());
      const agent = store.entries.create(fields(`spiffe://example.org/sigil/agent/join_token/${randomUUID()}`), Date.now());
      const long = store.entries.create(fields(`spiffe://example.org/${'a'.repeat(3000)}`), Date.now());
      store.entries.create(fields('spiffe://example.org/sigilx'), Date.now());
      store.close();
      const { logger, records } = capturingLogger();
      const restarted = await startTestServer({ dataDir, log: logger });
      await restarted.close();
      const logged = records.filter((r) => r.level === 'error' && typeof r.entryId === 'string');
      assert.deepEqual(logged.map((r) => r.entryId).sort(), [server.id, agent.id, long.id].sort());
      for (const r of logged) {
        assert.equal(typeof r.spiffeId, 'string');
        assert.match(String(r.msg), /never issued for/);
      }
      assert.match(String(logged.find((r) => r.entryId === server.id)?.reason), /is reserved/);
      assert.match(String(logged.find((r) => r.entryId === long.id)?.reason), /SPIFFE ID is 3021 bytes/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
