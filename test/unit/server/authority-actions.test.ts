import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

const clock = new FakeClock(Date.now());
let t: TestServer;
let auth: Record<string, string>;
before(async () => {
  t = await startTestServer({ clock });
  auth = { Authorization: `Bearer ${t.adminToken}` };
});
after(async () => {
  await t.close();
});

const list = async () => (await t.http.get('/v1/authorities').set(auth).expect(200)).body as { x509_authorities: { id: string; state: string; tainted_at: string | null; revoked_at: string | null }[] };

test('forced prepare → activate → taint → revoke, with every refusal on the way', async () => {
  const [first] = (await list()).x509_authorities;
  assert.equal(first?.state, 'active');
  const minted = await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/signed-by-first', ttl: 600 }).expect(201);

  // revoke/taint of the active authority is refused
  const taintActive = await t.http.post(`/v1/authorities/x509/${first?.id}/taint`).set(auth).expect(409);
  assert.match(taintActive.body.error.message, /is active; activate another one before tainting it/);
  await t.http.post('/v1/authorities/x509/activate').set(auth).send({}).expect(404);

  const prepared = await t.http.post('/v1/authorities/x509/prepare').set(auth).send({}).expect(201);
  assert.equal(prepared.body.state, 'prepared');
  const again = await t.http.post('/v1/authorities/x509/prepare').set(auth).send({}).expect(409);
  assert.match(again.body.error.message, /a prepared x509 authority exists already/);
  const bundle = (await t.http.get('/v1/bundle?format=pem').expect(200)).text;
  assert.equal(bundle.match(/BEGIN CERTIFICATE/g)?.length, 2, 'the prepared CA is published at once');

  const activated = await t.http.post('/v1/authorities/x509/activate').set(auth).send({}).expect(200);
  assert.equal(activated.body.id, prepared.body.id);
  assert.equal(activated.body.state, 'active');

  const revokeUntainted = await t.http.post(`/v1/authorities/x509/${first?.id}/revoke`).set(auth).expect(422);
  assert.match(revokeUntainted.body.error.message, /must be tainted before it is revoked/);
  const tainted = await t.http.post(`/v1/authorities/x509/${first?.id}/taint`).set(auth).expect(200);
  assert.ok(tainted.body.tainted_at);
  await t.http.post(`/v1/authorities/x509/${first?.id}/taint`).set(auth).expect(409);

  const blocked = await t.http.post(`/v1/authorities/x509/${first?.id}/revoke`).set(auth).expect(409);
  assert.match(blocked.body.error.message, /1 valid SVID\(s\) signed by x509 authority .* remain/);
  // once what it signed has expired, the revoke goes through and the CA leaves the bundle
  clock.set(new Date(new Date(minted.body.expires_at).getTime() + 1000));
  const revoked = await t.http.post(`/v1/authorities/x509/${first?.id}/revoke`).set(auth).expect(200);
  assert.ok(revoked.body.revoked_at);
  const after = (await t.http.get('/v1/bundle?format=pem').expect(200)).text;
  assert.equal(after.match(/BEGIN CERTIFICATE/g)?.length, 1);
  const types = t.server.store.events.listAfter(0, 10_000).map((e) => e.type).filter((ty) => ty.startsWith('authority.'));
  assert.deepEqual(types.slice(-4), ['authority.prepared', 'authority.activated', 'authority.tainted', 'authority.revoked']);
  const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'authority.revoke' }).expect(200);
  assert.deepEqual(audit.body.records.map((r: { result: string }) => r.result), ['error', 'error', 'ok']);
});

test('JWT authorities rotate the same way; a new SVID is signed by the new key', async () => {
  const before = (await t.http.get('/v1/authorities').set(auth).expect(200)).body.jwt_authorities[0];
  await t.http.post('/v1/authorities/jwt/prepare').set(auth).send({}).expect(201);
  const activated = await t.http.post('/v1/authorities/jwt/activate').set(auth).send({}).expect(200);
  const jwt = await t.http.post('/v1/jwt/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/j', audience: ['a'] }).expect(201);
  assert.equal(jwt.body.kid, activated.body.id);
  assert.notEqual(jwt.body.kid, before.id);
});

test('bad input: unknown kind, unknown id, unknown body field; viewers may not act', async () => {
  const kind = await t.http.post('/v1/authorities/rsa/prepare').set(auth).send({}).expect(400);
  assert.match(kind.body.error.message, /kind/);
  await t.http.post('/v1/authorities/x509/nope/taint').set(auth).expect(404);
  const field = await t.http.post('/v1/authorities/x509/activate').set(auth).send({ authority: 'x' }).expect(400);
  assert.match(field.body.error.message, /authority: unknown key/);
  await t.http.post('/v1/authorities/x509/prepare').set({ Authorization: `Bearer ${t.viewerToken}` }).send({}).expect(403);
});

test('lessons row 19: SVID TTL is capped at CA TTL / 6 and the cap is reported', async () => {
  const ttl = Math.floor(t.config.ca.ttl / 6);
  const res = await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/long', ttl: ttl + 100 }).expect(201);
  assert.equal(res.body.ttl.capped_by, t.config.svid.max_ttl < ttl ? 'max_ttl' : 'ca_ttl');
});
