import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
  // ... and so is its CRL, before any scheduler pass (no pass runs in this test).
  const crl = (await t.http.get(`/v1/crl?authority_id=${prepared.body.id}&format=pem`).expect(200)).text;
  const preparedCa = bundle.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)?.map((pem) => execFileSync('openssl', ['x509', '-noout', '-subject', '-nameopt', 'RFC2253'], { input: pem, encoding: 'utf8' }).replace(/^subject=/, '').trim());
  const crlIssuer = execFileSync('openssl', ['crl', '-noout', '-issuer', '-nameopt', 'RFC2253'], { input: crl, encoding: 'utf8' }).replace(/^issuer=/, '').trim();
  assert.ok(preparedCa?.includes(crlIssuer), `the CRL's issuer ${crlIssuer} is one of the bundle's CAs ${preparedCa?.join(' | ')}`);

  const activated = await t.http.post('/v1/authorities/x509/activate').set(auth).send({}).expect(200);
  assert.equal(activated.body.id, prepared.body.id);
  assert.equal(activated.body.state, 'active');

  const revokeUntainted = await t.http.post(`/v1/authorities/x509/${first?.id}/revoke`).set(auth).expect(422);
  assert.match(revokeUntainted.body.error.message, /must be tainted before it is revoked/);
  const tainted = await t.http.post(`/v1/authorities/x509/${first?.id}/taint`).set(auth).expect(200);
  assert.ok(tainted.body.tainted_at);
  await t.http.post(`/v1/authorities/x509/${first?.id}/taint`).set(auth).expect(409);

  const blocked = await t.http.post(`/v1/authorities/x509/${first?.id}/revoke`).set(auth).expect(409);
  assert.match(blocked.body.error.message, /^1 valid SVID signed by x509 authority \S+ not replaced yet: /);
  assert.ok(blocked.body.error.message.includes(`${minted.body.serial} (spiffe://example.org/signed-by-first, mint)`), blocked.body.error.message);
  assert.ok(blocked.body.error.message.includes(`sigil svid revoke --authority-id ${first?.id}`), 'the refusal offers the way out');
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

test('the SVIDs that block an authority revocation are named, listed with current=true, and revoked by authority_id', async () => {
  const [old] = (await list()).x509_authorities.filter((a) => a.state === 'active');
  const entry = await t.http
    .post('/v1/entries')
    .set(auth)
    .send({ spiffe_id: 'spiffe://example.org/replaced-workload', parent_id: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:7' }] })
    .expect(201);
  execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(t.dataDir, 'b.key'), '-out', join(t.dataDir, 'b.csr'), '-subj', '/CN=b'], { stdio: 'ignore' });
  const csr = readFileSync(join(t.dataDir, 'b.csr'), 'utf8');
  const replaced = await t.http.post(`/v1/entries/${entry.body.id}/x509-svids`).set(auth).send({ csr }).expect(201);
  const replacement = await t.http.post(`/v1/entries/${entry.body.id}/x509-svids`).set(auth).send({ csr }).expect(201);
  const minted = await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/batch-job', ttl: 600 }).expect(201);
  await t.http.post('/v1/authorities/x509/prepare').set(auth).send({}).expect(201);
  await t.http.post('/v1/authorities/x509/activate').set(auth).send({}).expect(200);
  await t.http.post(`/v1/authorities/x509/${old?.id}/taint`).set(auth).expect(200);

  const valid = await t.http.get('/v1/svids').set(auth).query({ authority_id: old?.id, valid: 'true' }).expect(200);
  const replacedRow = valid.body.svids.find((s: { serial: string }) => s.serial === replaced.body.serial);
  assert.ok(replacedRow?.replaced_at, 'valid=true still lists the replaced SVID, now marked replaced_at');
  const current = (await t.http.get('/v1/svids').set(auth).query({ authority_id: old?.id, current: 'true' }).expect(200)).body.svids.map((s: { serial: string }) => s.serial) as string[];
  assert.ok(current.includes(replacement.body.serial) && current.includes(minted.body.serial) && !current.includes(replaced.body.serial), current.join(', '));

  const blocked = await t.http.post(`/v1/authorities/x509/${old?.id}/revoke`).set(auth).expect(409);
  const message = blocked.body.error.message as string;
  assert.ok(message.startsWith(`${current.length} valid SVIDs signed by x509 authority ${old?.id} not replaced yet: `), message);
  assert.equal(message.match(/\b[0-9a-f]{32} \(spiffe:/g)?.length, Math.min(current.length, 3), 'names up to three');
  assert.ok(!message.includes(replaced.body.serial), 'a replaced SVID does not block');

  await t.http.post('/v1/svids/revoke').set(auth).send({ authority_id: 'no-such-authority' }).expect(404);
  const revokedSvids = await t.http.post('/v1/svids/revoke').set(auth).send({ authority_id: old?.id, reason: 'cACompromise' }).expect(200);
  assert.ok(revokedSvids.body.revoked.includes(minted.body.serial) && revokedSvids.body.revoked.includes(replacement.body.serial));
  await t.http.post(`/v1/authorities/x509/${old?.id}/revoke`).set(auth).expect(200);
});
