import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

// Every route × no / malformed / unknown / viewer / admin token, with the audit of each refusal,
// is test/resilience/authorization-matrix.test.ts (built from the router, so no list to keep here).
describe('authentication', () => {
  test('without a token: 401 with a message that says how to send one', async () => {
    const res = await t.http.get('/v1/entries').expect(401);
    assert.equal(res.body.error.code, 'unauthenticated');
    assert.match(res.body.error.message, /missing bearer token/);
  });

  test('an unknown token is 401', async () => {
    const res = await t.http.get('/v1/entries').set('Authorization', 'Bearer sat_nope').expect(401);
    assert.equal(res.body.error.message, 'invalid bearer token');
  });

  test('a viewer writing gets 403 naming its role', async () => {
    const res = await t.http.post('/v1/entries').set('Authorization', `Bearer ${t.viewerToken}`).send({}).expect(403);
    assert.equal(res.body.error.code, 'permission_denied');
    assert.match(res.body.error.message, /role viewer/);
  });

  test('the bundle, /live, /ready and /metrics need no token', async () => {
    await t.http.get('/v1/bundle').expect(200);
    await t.http.get('/live').expect(200);
    const ready = await t.http.get('/ready').expect(200);
    assert.equal(ready.body.status, 'ready');
    const metrics = await t.http.get('/metrics').expect(200);
    assert.match(metrics.text, /sigil_authority_not_after_timestamp_seconds\{kind="x509",state="active"/);
  });

  test('an unknown route is a JSON 404', async () => {
    const res = await t.http.get('/v1/nothing-here').set('Authorization', `Bearer ${t.adminToken}`).expect(404);
    assert.equal(res.body.error.code, 'not_found');
  });

  test('admin tokens: create a viewer, use it, delete it; the token is never listed', async () => {
    const created = await t.http.post('/v1/admin-tokens').set('Authorization', `Bearer ${t.adminToken}`).send({ name: 'ci', role: 'viewer' }).expect(201);
    assert.match(created.body.token, /^sat_/);
    await t.http.get('/v1/entries').set('Authorization', `Bearer ${created.body.token}`).expect(200);
    const list = await t.http.get('/v1/admin-tokens').set('Authorization', `Bearer ${t.adminToken}`).expect(200);
    assert.ok(list.body.admin_tokens.some((x: { id: string }) => x.id === created.body.id));
    assert.ok(!JSON.stringify(list.body).includes(created.body.token));
    await t.http.delete(`/v1/admin-tokens/${created.body.id}`).set('Authorization', `Bearer ${t.adminToken}`).expect(204);
    await t.http.get('/v1/entries').set('Authorization', `Bearer ${created.body.token}`).expect(401);
  });

  test('admin token creation validates the role', async () => {
    const res = await t.http.post('/v1/admin-tokens').set('Authorization', `Bearer ${t.adminToken}`).send({ name: 'x', role: 'root' }).expect(400);
    assert.match(res.body.error.message, /role/);
  });
});
