import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { silentLogger } from '../../../src/common/logger.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { startServer } from '../../../src/server/server.js';
import { tempDir } from '../../helpers/test-server.js';
import supertest from 'supertest';

const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function newDir(): string {
  const d = tempDir('sigil-ca-');
  dirs.push(d);
  return d;
}

const start = (dataDir: string, extra: Record<string, string> = {}, configPath?: string) =>
  startServer(loadServerConfig(configPath, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: dataDir, ...extra }), { log: silentLogger, listen: false });

test('keys on disk are PKCS#8 files mode 0600 in a 0700 folder; the admin token file is 0600', async () => {
  const dataDir = newDir();
  const server = await start(dataDir);
  await server.close();
  const keysDir = join(dataDir, 'keys');
  assert.equal(statSync(keysDir).mode & 0o777, 0o700);
  const files = readdirSync(keysDir);
  assert.equal(files.length, 2, 'one X.509 and one JWT key');
  for (const f of files) {
    assert.equal(statSync(join(keysDir, f)).mode & 0o777, 0o600);
    assert.match(readFileSync(join(keysDir, f), 'utf8'), /^-----BEGIN PRIVATE KEY-----/);
  }
  assert.equal(statSync(join(dataDir, 'admin.token')).mode & 0o777, 0o600);
});

test('a restart keeps the CA, the entries and the admin token', async () => {
  const dataDir = newDir();
  const first = await start(dataDir);
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  const http1 = supertest(first.app);
  const bundle1 = (await http1.get('/v1/bundle?format=pem').expect(200)).text;
  const entry = await http1
    .post('/v1/entries')
    .set('Authorization', `Bearer ${token}`)
    .send({ spiffe_id: 'spiffe://example.org/kept', parent_id: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:7' }] })
    .expect(201);
  await first.close();

  const second = await start(dataDir);
  assert.equal(second.bootstrapToken, undefined, 'no second bootstrap token');
  const http2 = supertest(second.app);
  assert.equal((await http2.get('/v1/bundle?format=pem').expect(200)).text, bundle1);
  const got = await http2.get(`/v1/entries/${entry.body.id}`).set('Authorization', `Bearer ${token}`).expect(200);
  assert.equal(got.body.spiffe_id, 'spiffe://example.org/kept');
  await second.close();
});

test('a data_dir is bound to its trust domain', async () => {
  const dataDir = newDir();
  await (await start(dataDir)).close();
  await assert.rejects(start(dataDir, { SIGIL_TRUST_DOMAIN: 'other.org' }), /belongs to trust domain "example\.org"/);
});

test('a missing CA key is a loud start failure, not a silent new CA', async () => {
  const dataDir = newDir();
  await (await start(dataDir)).close();
  for (const f of readdirSync(join(dataDir, 'keys'))) rmSync(join(dataDir, 'keys', f));
  await assert.rejects(start(dataDir), /private key of the active x509 authority .* is missing/);
});

test('upstream CA from disk: Sigil signs as an intermediate and the chain verifies with openssl', async () => {
  const dir = newDir();
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'up.key', '-out', 'up.pem', '-days', '30', '-subj', '/O=Upstream Root',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const configPath = join(dir, 'server.yaml');
  writeFileSync(configPath, 'trust_domain: example.org\nca:\n  upstream:\n    cert_file: up.pem\n    key_file: up.key\n');
  const server = await start(join(dir, 'data'), {}, configPath);
  const token = server.bootstrapToken ?? '';
  const http = supertest(server.app);
  const minted = await http.post('/v1/x509/mint').set('Authorization', `Bearer ${token}`).send({ spiffe_id: 'spiffe://example.org/up' }).expect(201);
  const bundle = (await http.get('/v1/bundle?format=pem').expect(200)).text;
  await server.close();
  assert.equal(bundle, readFileSync(join(dir, 'up.pem'), 'utf8').replace(/\r/g, ''), 'the bundle is the upstream root');
  assert.equal(minted.body.svid_pem.match(/BEGIN CERTIFICATE/g).length, 2, 'chain = leaf + Sigil intermediate');
  writeFileSync(join(dir, 'chain.pem'), minted.body.svid_pem);
  const [leaf, intermediate] = minted.body.svid_pem.split(/(?<=-----END CERTIFICATE-----\n)/);
  writeFileSync(join(dir, 'leaf.pem'), leaf);
  writeFileSync(join(dir, 'intermediate.pem'), intermediate);
  assert.match(openssl(['verify', '-CAfile', 'up.pem', '-untrusted', 'intermediate.pem', 'leaf.pem']), /leaf\.pem: OK/);
  const inter = openssl(['x509', '-in', 'intermediate.pem', '-noout', '-text']);
  assert.match(inter, /CA:TRUE/);
  assert.match(inter, /URI:spiffe:\/\/example\.org\n/);
  assert.match(inter, /Issuer: O ?= ?Upstream Root/);
});

test('an upstream key that does not match its certificate is refused', async () => {
  const dir = newDir();
  const openssl = (args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' });
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'a.key', '-out', 'a.pem', '-days', '3', '-subj', '/O=A']);
  openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', 'b.key']);
  writeFileSync(join(dir, 's.yaml'), 'trust_domain: example.org\nca:\n  upstream:\n    cert_file: a.pem\n    key_file: b.key\n');
  await assert.rejects(start(join(dir, 'data'), {}, join(dir, 's.yaml')), /does not match the certificate/);
});

test('a busy admin port is a clear start failure', async () => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  const dataDir = newDir();
  await assert.rejects(
    startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: dataDir, SIGIL_ADMIN_ADDR: `127.0.0.1:${port}` }), { log: silentLogger }),
    /cannot listen on admin_addr 127\.0\.0\.1:\d+: listen EADDRINUSE/,
  );
  blocker.close();
});
