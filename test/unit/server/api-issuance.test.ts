import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createLocalJWKSet, jwtVerify, decodeProtectedHeader } from 'jose';
import { SigilError } from '../../../src/common/errors.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import { parseSpiffeBundle } from '../../../src/spiffe/bundle.js';
import type { SvidKind } from '../../../src/store/issued-svids.js';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

let t: TestServer;
let auth: Record<string, string>;
before(async () => {
  t = await startTestServer();
  auth = { Authorization: `Bearer ${t.adminToken}` };
});
after(async () => {
  await t.close();
});

describe('bundle', () => {
  test('B-02/B-03/X-23/J-11: the SPIFFE bundle has one x509-svid key without kid and a jwt-svid key with kid', async () => {
    const res = await t.http.get('/v1/bundle').expect(200).expect('Content-Type', /application\/json/);
    const raw = JSON.parse(res.text);
    const x509 = raw.keys.filter((k: { use: string }) => k.use === 'x509-svid');
    const jwt = raw.keys.filter((k: { use: string }) => k.use === 'jwt-svid');
    assert.equal(x509.length, 1);
    assert.equal(x509[0].kid, undefined);
    assert.equal(x509[0].x5c.length, 1);
    assert.equal(jwt.length, 1);
    assert.ok(jwt[0].kid);
    assert.ok(raw.spiffe_sequence >= 1);
    assert.equal(raw.spiffe_refresh_hint, 300);
    const parsed = parseSpiffeBundle(res.text);
    assert.equal(parsed.x509Authorities.length, 1);
  });

  test('bad format is 400', async () => {
    const res = await t.http.get('/v1/bundle').query({ format: 'der' }).expect(400);
    assert.match(res.body.error.message, /format/);
  });
});

describe('x509 mint', () => {
  test('records the issuance and lists it under /v1/svids with filters', async () => {
    const minted = await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/listed', ttl: 600 }).expect(201);
    assert.match(minted.body.serial, /^[0-9a-f]{32}$/);
    assert.deepEqual(minted.body.ttl, { requested: 600, effective: 600, capped_by: null });
    const list = await t.http.get('/v1/svids').set(auth).query({ spiffe_id: 'spiffe://example.org/listed' }).expect(200);
    assert.equal(list.body.svids.length, 1);
    assert.equal(list.body.svids[0].serial, minted.body.serial);
    assert.equal(list.body.svids[0].kind, 'mint');
    const soon = new Date(Date.now() + 3600_000).toISOString();
    const expiring = await t.http.get('/v1/svids').set(auth).query({ expiring_before: soon, spiffe_id: 'spiffe://example.org/listed' }).expect(200);
    assert.equal(expiring.body.svids.length, 1);
    const notYet = await t.http.get('/v1/svids').set(auth).query({ expiring_before: new Date(Date.now() + 60_000).toISOString(), spiffe_id: 'spiffe://example.org/listed' }).expect(200);
    assert.equal(notYet.body.svids.length, 0);
    const events = await t.http.get('/v1/events').set(auth).query({ type: 'svid.issued', limit: 1000 }).expect(200);
    assert.ok(events.body.events.some((e: { payload: { serial: string } }) => e.payload.serial === minted.body.serial));
    const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'x509.mint', page_size: 1000 }).expect(200);
    assert.ok(audit.body.records.some((r: { detail: { serial: string } }) => r.detail.serial === minted.body.serial));
    assert.ok(!JSON.stringify(audit.body).includes('PRIVATE KEY'), 'keys never reach the audit log');
  });

  test('lessons row 19: a TTL above max_ttl is capped and the cap is reported', async () => {
    const res = await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/capped', ttl: '30d' }).expect(201);
    assert.equal(res.body.ttl.requested, 30 * 86400);
    assert.equal(res.body.ttl.capped_by, 'max_ttl');
    assert.equal(res.body.ttl.effective, t.config.svid.max_ttl);
  });

  test('every key type mints', async () => {
    for (const keyType of ['ec-p256', 'ec-p384', 'rsa-2048']) {
      const res = await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/kt', key_type: keyType }).expect(201);
      assert.match(res.body.private_key_pem, /BEGIN PRIVATE KEY/);
    }
  });

  const bad: [string, object, number, RegExp][] = [
    ['missing spiffe_id', {}, 400, /spiffe_id/],
    ['X-05 trust domain ID', { spiffe_id: 'spiffe://example.org' }, 400, /non-root path/],
    ['foreign trust domain', { spiffe_id: 'spiffe://evil.org/x' }, 422, /not in trust domain/],
    ['bad key type', { spiffe_id: 'spiffe://example.org/x', key_type: 'dsa' }, 400, /key_type/],
    ['bad ttl', { spiffe_id: 'spiffe://example.org/x', ttl: '1 hour' }, 400, /ttl: not a duration/],
    ['zero ttl', { spiffe_id: 'spiffe://example.org/x', ttl: 0 }, 400, /^invalid body: ttl: must be at least 1s, not 0$/],
    ['ttl "0.4s" (rounds down to 0)', { spiffe_id: 'spiffe://example.org/x', ttl: '0.4s' }, 400, /ttl: must be at least 1s/],
    ['negative ttl', { spiffe_id: 'spiffe://example.org/x', ttl: -60 }, 400, /ttl: not a duration/],
    ['the server ID', { spiffe_id: 'spiffe://example.org/sigil/server' }, 400, /^invalid body: spiffe_id: spiffe:\/\/example\.org\/sigil\/server is reserved/],
    ['an agent ID', { spiffe_id: 'spiffe://example.org/sigil/agent/join_token/00000000-0000-4000-8000-000000000000' }, 400, /spiffe_id: .* is reserved/],
    ['the /sigil root', { spiffe_id: 'spiffe://example.org/sigil' }, 400, /spiffe_id: spiffe:\/\/example\.org\/sigil is reserved/],
    ['ID-14 a 3 KB SPIFFE ID', { spiffe_id: `spiffe://example.org/${'a'.repeat(3051)}` }, 400, /spiffe_id: invalid SPIFFE ID: SPIFFE ID is 3072 bytes; the maximum is 2048 bytes/],
    ['ID-14 a 100 KB SPIFFE ID', { spiffe_id: `spiffe://example.org/${'a'.repeat(100 * 1024)}` }, 400, /spiffe_id: invalid SPIFFE ID: SPIFFE ID is \d+ bytes/],
    ['NUL in a DNS name', { spiffe_id: 'spiffe://example.org/x', dns_names: ['a\u0000b'] }, 400, /dns_names\[0\]: must be a DNS name/],
  ];
  for (const [name, body, status, message] of bad) {
    test(`${name} → ${status}`, async () => {
      const res = await t.http.post('/v1/x509/mint').set(auth).send(body).expect(status);
      assert.match(res.body.error.message, message);
    });
  }

  test('a refused mint issues nothing', async () => {
    await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/sigil/server' }).expect(400);
    const list = await t.http.get('/v1/svids').set(auth).query({ spiffe_id: 'spiffe://example.org/sigil/server' }).expect(200);
    assert.equal(list.body.svids.length, 0);
  });
});

describe('jwt mint', () => {
  test('J-01..J-08: the token verifies against the bundle and has only alg, kid, typ', async () => {
    const res = await t.http.post('/v1/jwt/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/api', audience: ['svc-a'], ttl: '5m' }).expect(201);
    const header = decodeProtectedHeader(res.body.token);
    assert.deepEqual(Object.keys(header).sort(), ['alg', 'kid', 'typ']);
    assert.equal(header.alg, 'ES256');
    assert.equal(header.typ, 'JWT');
    const bundle = JSON.parse((await t.http.get('/v1/bundle').expect(200)).text);
    // jose only picks keys whose `use` is absent or "sig", so drop the SPIFFE `use` as a JWKS consumer would.
    const jwtKeys = bundle.keys.filter((k: { use: string }) => k.use === 'jwt-svid').map(({ use: _use, ...k }: { use: string }) => k);
    const jwks = createLocalJWKSet({ keys: jwtKeys });
    const { payload } = await jwtVerify(res.body.token, jwks, { audience: 'svc-a', algorithms: ['ES256'] });
    assert.equal(payload.sub, 'spiffe://example.org/api');
    assert.deepEqual(payload.aud, ['svc-a']);
    assert.equal((payload.exp ?? 0) - (payload.iat ?? 0), 300);
    await assert.rejects(jwtVerify(res.body.token, jwks, { audience: 'other' }));
  });

  test('J-07: no audience is 400', async () => {
    const res = await t.http.post('/v1/jwt/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/api', audience: [] }).expect(400);
    assert.match(res.body.error.message, /audience: at least one audience/);
    const empty = await t.http.post('/v1/jwt/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/api', audience: [''] }).expect(400);
    assert.match(empty.body.error.message, /audience\[0\]: must not be empty/);
  });

  const bad: [string, object, RegExp][] = [
    ['the server ID', { spiffe_id: 'spiffe://example.org/sigil/server', audience: ['a'] }, /^invalid body: spiffe_id: spiffe:\/\/example\.org\/sigil\/server is reserved/],
    ['an ID under /sigil', { spiffe_id: 'spiffe://example.org/sigil/x', audience: ['a'] }, /spiffe_id: .* is reserved/],
    ['ID-14 a 3 KB SPIFFE ID', { spiffe_id: `spiffe://example.org/${'a'.repeat(3051)}`, audience: ['a'] }, /spiffe_id: invalid SPIFFE ID: SPIFFE ID is 3072 bytes/],
    ['zero ttl', { spiffe_id: 'spiffe://example.org/api', audience: ['a'], ttl: '0s' }, /ttl: must be at least 1s/],
    ['NUL in an audience', { spiffe_id: 'spiffe://example.org/api', audience: ['svc-a', 'svc\u0000b'] }, /audience\[1\]: must not contain control characters/],
    ['newline in an audience', { spiffe_id: 'spiffe://example.org/api', audience: ['svc\nb'] }, /audience\[0\]: must not contain control characters/],
  ];
  for (const [name, body, message] of bad) {
    test(`${name} → 400`, async () => {
      const res = await t.http.post('/v1/jwt/mint').set(auth).send(body).expect(400);
      assert.equal(res.body.error.code, 'invalid_argument');
      assert.match(res.body.error.message, message);
    });
  }
});

describe('the CA refuses what the API refuses (defence in depth)', () => {
  const params = async (spiffeId: string, kind: SvidKind) => ({ spiffeId, dnsNames: [], subjectPublicKey: (await generateKeyPair('ec-p256')).publicKey, kind });
  const refused = (pattern: RegExp) => (err: unknown) => err instanceof SigilError && err.code === 'invalid_argument' && pattern.test(err.message);

  test('no workload or mint X509-SVID in the reserved path', async () => {
    for (const kind of ['workload', 'mint'] as const) {
      await assert.rejects(t.server.ca.issueX509Svid(await params('spiffe://example.org/sigil/server', kind)), refused(/^spiffe_id: .* is reserved/));
      await assert.rejects(t.server.ca.issueX509Svid(await params('spiffe://example.org/sigil/agent/join_token/x', kind)), refused(/is reserved/));
    }
  });

  test('no JWT-SVID in the reserved path', async () => {
    await assert.rejects(t.server.ca.mintJwtSvid({ spiffeId: 'spiffe://example.org/sigil/server', audience: ['a'] }), refused(/^spiffe_id: .* is reserved/));
  });

  test('ID-14: nothing over 2048 bytes', async () => {
    await assert.rejects(t.server.ca.issueX509Svid(await params(`spiffe://example.org/${'a'.repeat(2100)}`, 'mint')), refused(/SPIFFE ID is 2121 bytes/));
    await assert.rejects(t.server.ca.mintJwtSvid({ spiffeId: `spiffe://example.org/${'a'.repeat(2100)}`, audience: ['a'] }), refused(/SPIFFE ID is 2121 bytes/));
  });

  test('the server and agent kinds get only their own IDs', async () => {
    await assert.rejects(t.server.ca.issueX509Svid(await params('spiffe://example.org/web', 'server')), refused(/the server SVID must have the ID spiffe:\/\/example\.org\/sigil\/server/));
    await assert.rejects(t.server.ca.issueX509Svid(await params('spiffe://example.org/sigil/server', 'agent')), refused(/an agent SVID must have an ID under spiffe:\/\/example\.org\/sigil\/agent\/join_token\//));
    await assert.rejects(t.server.ca.issueX509Svid(await params('spiffe://example.org/sigil/agent/join_token/a/b', 'agent')), refused(/invalid agent ID/));
  });

  test('a TTL under 1s is the caller\'s mistake, not the authority\'s', async () => {
    await assert.rejects(t.server.ca.issueX509Svid({ ...(await params('spiffe://example.org/w', 'workload')), ttlSeconds: 0 }), refused(/^ttl: an SVID lives at least 1s, not 0s$/));
    await assert.rejects(t.server.ca.mintJwtSvid({ spiffeId: 'spiffe://example.org/w', audience: ['a'], ttlSeconds: -1 }), refused(/^ttl: /));
  });
});

describe('join tokens', () => {
  test('create shows the token once; list and delete', async () => {
    const created = await t.http.post('/v1/join-tokens').set(auth).send({ ttl: '10m', name: 'node-1' }).expect(201);
    assert.match(created.body.token, /^sjt_[A-Za-z0-9_-]{43}$/);
    const expires = new Date(created.body.expires_at).getTime();
    assert.ok(Math.abs(expires - (Date.now() + 600_000)) < 5000);
    const list = await t.http.get('/v1/join-tokens').set(auth).expect(200);
    assert.ok(list.body.join_tokens.some((x: { id: string; name: string }) => x.id === created.body.id && x.name === 'node-1'));
    assert.ok(!JSON.stringify(list.body).includes(created.body.token), 'the token is not listed');
    const row = t.server.store.db.prepare('SELECT token_hash FROM join_tokens WHERE id = ?').get(created.body.id) as { token_hash: string };
    assert.notEqual(row.token_hash, created.body.token);
    assert.match(row.token_hash, /^[0-9a-f]{64}$/);
    await t.http.delete(`/v1/join-tokens/${created.body.id}`).set(auth).expect(204);
    await t.http.delete(`/v1/join-tokens/${created.body.id}`).set(auth).expect(404);
  });

  test('default TTL, and a TTL over 30 days is refused', async () => {
    const created = await t.http.post('/v1/join-tokens').set(auth).expect(201);
    assert.ok(new Date(created.body.expires_at).getTime() > Date.now() + 500_000);
    const res = await t.http.post('/v1/join-tokens').set(auth).send({ ttl: '31d' }).expect(400);
    assert.match(res.body.error.message, /ttl: must be at most/);
  });
});

describe('authorities, agents, events', () => {
  test('lists the active X.509 and JWT authorities', async () => {
    const res = await t.http.get('/v1/authorities').set(auth).expect(200);
    assert.equal(res.body.x509_authorities.length, 1);
    assert.equal(res.body.x509_authorities[0].state, 'active');
    assert.match(res.body.x509_authorities[0].certificate_pem, /BEGIN CERTIFICATE/);
    assert.equal(res.body.jwt_authorities[0].state, 'active');
    assert.equal(res.body.jwt_authorities[0].public_key_jwk.kty, 'EC');
  });

  test('agents list is empty until agents attest; an unknown agent is 404', async () => {
    const res = await t.http.get('/v1/agents').set(auth).expect(200);
    assert.deepEqual(res.body.agents, []);
    await t.http.get('/v1/agents/nope').set(auth).expect(404);
  });

  test('ban and evict an agent: audited events; unknown agents are 404', async () => {
    const now = Date.now();
    t.server.store.agents.insert('agent-one', 'spiffe://example.org/sigil/agent/join_token/agent-one', 'join_token', now);
    const banned = await t.http.post('/v1/agents/agent-one/ban').set(auth).send({}).expect(200);
    assert.equal(banned.body.banned, true);
    const listed = await t.http.get('/v1/agents').set(auth).query({ banned: 'true' }).expect(200);
    assert.deepEqual(listed.body.agents.map((a: { id: string }) => a.id), ['agent-one']);
    await t.http.delete('/v1/agents/agent-one').set(auth).expect(204);
    await t.http.get('/v1/agents/agent-one').set(auth).expect(404);
    await t.http.delete('/v1/agents/agent-one').set(auth).expect(404);
    await t.http.post('/v1/agents/nope/ban').set(auth).send({}).expect(404);
    await t.http.post('/v1/agents/agent-one/ban').set({ Authorization: `Bearer ${t.viewerToken}` }).send({}).expect(403);
    const events = await t.http.get('/v1/events').set(auth).query({ type: ['agent.banned', 'agent.evicted'] }).expect(200);
    assert.deepEqual(events.body.events.map((e: { type: string }) => e.type), ['agent.banned', 'agent.evicted']);
    const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'agent.ban' }).expect(200);
    assert.equal(audit.body.records.filter((r: { result: string }) => r.result === 'ok').length, 1);
  });

  test('events resume after an id and bad cursors are 400', async () => {
    const all = await t.http.get('/v1/events').set(auth).query({ limit: 2 }).expect(200);
    assert.equal(all.body.events.length, 2);
    const next = await t.http.get('/v1/events').set(auth).query({ after: all.body.last_id, limit: 1 }).expect(200);
    assert.equal(next.body.events[0].id, all.body.last_id + 1);
    const bad = await t.http.get('/v1/events').set(auth).query({ after: -1 }).expect(400);
    assert.match(bad.body.error.message, /after/);
  });

  test('svid list validates expiring_before', async () => {
    const res = await t.http.get('/v1/svids').set(auth).query({ expiring_before: 'tomorrow' }).expect(400);
    assert.match(res.body.error.message, /expiring_before/);
  });
});
