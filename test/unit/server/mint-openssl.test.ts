import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
});
after(async () => {
  await t.close();
});

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

test('X-01/X-11/X-14/X-16: a minted SVID verifies with openssl against the PEM bundle and has the leaf profile', async () => {
  const minted = await t.http
    .post('/v1/x509/mint')
    .set('Authorization', `Bearer ${t.adminToken}`)
    .send({ spiffe_id: 'spiffe://example.org/web', dns_names: ['web.example.org'] })
    .expect(201);
  const bundle = await t.http.get('/v1/bundle?format=pem').expect(200);
  const dir = t.dataDir;
  writeFileSync(join(dir, 'svid.pem'), minted.body.svid_pem);
  writeFileSync(join(dir, 'bundle.pem'), bundle.text);
  assert.match(openssl(['verify', '-CAfile', join(dir, 'bundle.pem'), join(dir, 'svid.pem')]), /svid\.pem: OK/);
  const text = openssl(['x509', '-in', join(dir, 'svid.pem'), '-noout', '-text']);
  assert.equal(text.match(/URI:/g)?.length, 1, 'exactly one URI SAN');
  assert.match(text, /URI:spiffe:\/\/example\.org\/web/);
  assert.match(text, /DNS:web\.example\.org/);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/);
  assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature, Key Encipherment, Key Agreement/);
  assert.match(text, /TLS Web Server Authentication, TLS Web Client Authentication/);
  // the private key returned belongs to the certificate
  writeFileSync(join(dir, 'key.pem'), minted.body.private_key_pem);
  const certPub = openssl(['x509', '-in', join(dir, 'svid.pem'), '-noout', '-pubkey']);
  const keyPub = openssl(['pkey', '-in', join(dir, 'key.pem'), '-pubout']);
  assert.equal(certPub, keyPub);
});

test('X-07/X-15/X-17: the CA certificate in the bundle has the signing profile', async () => {
  const bundle = await t.http.get('/v1/bundle?format=pem').expect(200);
  writeFileSync(join(t.dataDir, 'ca.pem'), bundle.text);
  const text = openssl(['x509', '-in', join(t.dataDir, 'ca.pem'), '-noout', '-text']);
  assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE/);
  assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/);
  assert.match(text, /URI:spiffe:\/\/example\.org\n/);
});
