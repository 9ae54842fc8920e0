import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

let t: TestServer;
let auth: Record<string, string>;
let entryId: string;
before(async () => {
  t = await startTestServer();
  auth = { Authorization: `Bearer ${t.adminToken}` };
  const entry = await t.http
    .post('/v1/entries')
    .set(auth)
    .send({ spiffe_id: 'spiffe://example.org/csr-workload', parent_id: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:1' }], dns_names: ['csr.local'], x509_svid_ttl: 120 })
    .expect(201);
  entryId = entry.body.id;
});
after(async () => {
  await t.close();
});

const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: t.dataDir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('a CSR is signed with the SPIFFE ID, DNS names and TTL of the entry, never those of the CSR', async () => {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'w.key', '-out', 'w.csr', '-subj', '/CN=evil',
    '-addext', 'subjectAltName=URI:spiffe://example.org/admin,DNS:evil.example']);
  const res = await t.http.post(`/v1/entries/${entryId}/x509-svids`).set(auth).send({ csr: readFileSync(join(t.dataDir, 'w.csr'), 'utf8') }).expect(201);
  assert.equal(res.body.spiffe_id, 'spiffe://example.org/csr-workload');
  assert.equal(res.body.ttl.effective, 120);
  writeFileSync(join(t.dataDir, 'w.pem'), res.body.svid_pem);
  writeFileSync(join(t.dataDir, 'b.pem'), res.body.bundle_pem);
  assert.match(openssl(['verify', '-CAfile', 'b.pem', 'w.pem']), /OK/);
  const text = openssl(['x509', '-in', 'w.pem', '-noout', '-text']);
  assert.match(text, /URI:spiffe:\/\/example\.org\/csr-workload/);
  assert.doesNotMatch(text, /admin|evil/);
  assert.equal(openssl(['x509', '-in', 'w.pem', '-noout', '-pubkey']), openssl(['pkey', '-in', 'w.key', '-pubout']));
  const svids = await t.http.get('/v1/svids').set(auth).query({ entry_id: entryId }).expect(200);
  assert.equal(svids.body.svids[0].kind, 'workload');
});

test('an RSA CSR is accepted too', async () => {
  openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'r.key', '-out', 'r.csr', '-subj', '/CN=r']);
  await t.http.post(`/v1/entries/${entryId}/x509-svids`).set(auth).send({ csr: readFileSync(join(t.dataDir, 'r.csr'), 'utf8') }).expect(201);
});

test('a CSR whose signature does not verify (no proof of possession) is 400 and audited', async () => {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 't.key', '-out', 't.csr', '-outform', 'DER', '-subj', '/CN=tampered']);
  const der = readFileSync(join(t.dataDir, 't.csr'));
  der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff; // flip bits inside the signature
  const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const res = await t.http.post(`/v1/entries/${entryId}/x509-svids`).set(auth).send({ csr: pem }).expect(400);
  assert.match(res.body.error.message, /csr: signature does not verify/);
  const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'entry.sign_csr', result: 'error' }).expect(200);
  assert.equal(audit.body.records.length, 1);
});

test('garbage CSR, missing CSR, unknown entry', async () => {
  const garbage = await t.http.post(`/v1/entries/${entryId}/x509-svids`).set(auth).send({ csr: 'hello' }).expect(400);
  assert.match(garbage.body.error.message, /csr: no PEM block/);
  const missing = await t.http.post(`/v1/entries/${entryId}/x509-svids`).set(auth).send({}).expect(400);
  assert.match(missing.body.error.message, /csr/);
  await t.http.post('/v1/entries/00000000-0000-4000-8000-000000000000/x509-svids').set(auth).send({ csr: 'x' }).expect(404);
  await t.http.post(`/v1/entries/${entryId}/x509-svids`).set({ Authorization: `Bearer ${t.viewerToken}` }).send({ csr: 'x' }).expect(403);
});

test('an entry with a reserved SPIFFE ID stored before the rule is never signed for: 400 naming spiffe_id, nothing issued', async () => {
  const legacy = t.server.store.entries.create(
    { spiffeId: 'spiffe://example.org/sigil/server', parentId: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:2' }], dnsNames: [], x509SvidTtl: 120, jwtSvidTtl: 60, hint: '', admin: false },
    Date.now(),
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 's.key', '-out', 's.csr', '-subj', '/CN=s']);
  const res = await t.http.post(`/v1/entries/${legacy.id}/x509-svids`).set(auth).send({ csr: readFileSync(join(t.dataDir, 's.csr'), 'utf8') }).expect(400);
  assert.equal(res.body.error.code, 'invalid_argument');
  assert.match(res.body.error.message, /^spiffe_id: spiffe:\/\/example\.org\/sigil\/server is reserved/);
  const svids = await t.http.get('/v1/svids').set(auth).query({ entry_id: legacy.id }).expect(200);
  assert.equal(svids.body.svids.length, 0);
});

test('ID-14: an over-long SPIFFE ID stored before the rule is never signed for', async () => {
  const legacy = t.server.store.entries.create(
    { spiffeId: `spiffe://example.org/${'a'.repeat(3000)}`, parentId: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:3' }], dnsNames: [], x509SvidTtl: 120, jwtSvidTtl: 60, hint: '', admin: false },
    Date.now(),
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'l.key', '-out', 'l.csr', '-subj', '/CN=l']);
  const res = await t.http.post(`/v1/entries/${legacy.id}/x509-svids`).set(auth).send({ csr: readFileSync(join(t.dataDir, 'l.csr'), 'utf8') }).expect(400);
  assert.match(res.body.error.message, /^spiffe_id: invalid SPIFFE ID: SPIFFE ID is 3021 bytes; the maximum is 2048 bytes/);
});

test('an entry with TTL 0 stored before the rule gets a 400 about its ttl, not a CA failure', async () => {
  const legacy = t.server.store.entries.create(
    { spiffeId: 'spiffe://example.org/zero-ttl', parentId: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:4' }], dnsNames: [], x509SvidTtl: 0, jwtSvidTtl: 60, hint: '', admin: false },
    Date.now(),
  );
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'z.key', '-out', 'z.csr', '-subj', '/CN=z']);
  const res = await t.http.post(`/v1/entries/${legacy.id}/x509-svids`).set(auth).send({ csr: readFileSync(join(t.dataDir, 'z.csr'), 'utf8') }).expect(400);
  assert.match(res.body.error.message, /^ttl: an SVID lives at least 1s, not 0s$/);
  assert.doesNotMatch(res.body.error.message, /signing authority/);
});

test('POST /v1/x509/sign: the SPIFFE ID, DNS names and TTL come from the request, the key stays with the caller', async () => {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384', '-nodes', '-keyout', 's.key', '-out', 's.csr', '-subj', '/CN=ignored', '-addext', 'subjectAltName=URI:spiffe://example.org/other']);
  const res = await t.http
    .post('/v1/x509/sign')
    .set(auth)
    .send({ csr: readFileSync(join(t.dataDir, 's.csr'), 'utf8'), spiffe_id: 'spiffe://example.org/operator-signed', dns_names: ['signed.local'], ttl: '10m' })
    .expect(201);
  assert.equal(res.body.spiffe_id, 'spiffe://example.org/operator-signed');
  assert.equal(res.body.ttl.effective, 600);
  assert.equal(res.body.private_key_pem, undefined, 'no key: it never left the caller');
  writeFileSync(join(t.dataDir, 's.pem'), res.body.svid_pem);
  writeFileSync(join(t.dataDir, 'sb.pem'), res.body.bundle_pem);
  assert.match(openssl(['verify', '-CAfile', 'sb.pem', 's.pem']), /OK/);
  const text = openssl(['x509', '-in', 's.pem', '-noout', '-text']);
  assert.match(text, /URI:spiffe:\/\/example\.org\/operator-signed, DNS:signed\.local/);
  assert.doesNotMatch(text, /spiffe:\/\/example\.org\/other/);
  assert.equal(openssl(['x509', '-in', 's.pem', '-noout', '-pubkey']), openssl(['pkey', '-in', 's.key', '-pubout']));
  const svids = await t.http.get('/v1/svids').set(auth).query({ spiffe_id: 'spiffe://example.org/operator-signed' }).expect(200);
  assert.equal(svids.body.svids[0].kind, 'mint');
  const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'x509.sign', result: 'ok' }).expect(200);
  assert.equal(audit.body.records[0].detail.serial, res.body.serial);
});

test('POST /v1/x509/sign refuses a CSR that does not verify, a reserved or foreign SPIFFE ID, and unknown fields, naming the field', async () => {
  openssl(['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'u.key', '-out', 'u.csr', '-outform', 'DER', '-subj', '/CN=u']);
  const der = readFileSync(join(t.dataDir, 'u.csr'));
  const good = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  der[der.length - 5] = (der[der.length - 5] ?? 0) ^ 0xff;
  const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
  const send = (body: Record<string, unknown>) => t.http.post('/v1/x509/sign').set(auth).send(body);
  assert.match((await send({ csr: tampered, spiffe_id: 'spiffe://example.org/x' }).expect(400)).body.error.message, /csr: signature does not verify/);
  assert.match((await send({ csr: good, spiffe_id: 'spiffe://example.org/sigil/server' }).expect(400)).body.error.message, /spiffe_id: .*reserved/);
  assert.match((await send({ csr: good, spiffe_id: 'spiffe://other.org/x' }).expect(422)).body.error.message, /spiffe_id: spiffe:\/\/other\.org\/x is not in trust domain example\.org/);
  assert.match((await send({ csr: good, spiffe_id: 'spiffe://example.org/x', key_type: 'ec-p256' }).expect(400)).body.error.message, /key_type/);
  assert.match((await send({ spiffe_id: 'spiffe://example.org/x' }).expect(400)).body.error.message, /csr/);
});
