// Issue 12 item 5: OIDC discovery for JWT-SVIDs. A real server with the discovery listener, and
// `jose`'s remote JWKS (what OIDC relying parties use) verifying JWT-SVIDs from the document alone.
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import { silentLogger } from '../../../src/common/logger.js';
import { MemoryKeyManager } from '../../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { freePort } from '../../helpers/sigil-process.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-oidc-');
let server: RunningServer;
let issuer: string;
let admin: (method: string, path: string, body?: unknown) => Promise<{ status: number; body: Record<string, unknown> }>;

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

before(async () => {
  const port = await freePort();
  issuer = `http://127.0.0.1:${port}`;
  const config = loadServerConfig(configFile('oidc.yaml', `trust_domain: example.org\ndata_dir: data\nadmin_addr: 127.0.0.1:0\nagent_api_addr: 127.0.0.1:0\njwt:\n  issuer: ${issuer}\noidc_discovery:\n  addr: 127.0.0.1:${port}\n`), {});
  server = await startServer(config, { log: silentLogger, keyManager: new MemoryKeyManager() });
  admin = async (method, path, body) => {
    const res = await fetch(`http://${server.adminAddress}${path}`, { method, headers: { authorization: `Bearer ${server.bootstrapToken}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
});
after(async () => {
  await server?.close();
  rmSync(dir, { recursive: true, force: true });
});

const mint = async () => {
  const res = await admin('POST', '/v1/jwt/mint', { spiffe_id: 'spiffe://example.org/web', audience: ['sts.amazonaws.com'] });
  assert.equal(res.status, 201, JSON.stringify(res.body));
  return res.body.token as string;
};

test('the discovery document names the issuer and the JWKS, cacheable, and answers 304 to its ETag', async () => {
  assert.equal(server.oidcAddress, issuer.replace('http://', ''));
  const res = await fetch(`${issuer}/.well-known/openid-configuration`);
  assert.equal(res.status, 200);
  const document = (await res.json()) as Record<string, unknown>;
  assert.equal(document.issuer, issuer);
  assert.equal(document.jwks_uri, `${issuer}/keys`);
  assert.deepEqual(document.id_token_signing_alg_values_supported, ['ES256', 'ES384', 'RS256']);
  assert.equal(res.headers.get('cache-control'), 'public, max-age=300');
  const etag = res.headers.get('etag') as string;
  assert.match(etag, /^"[\w-]+"$/);
  assert.equal((await fetch(`${issuer}/.well-known/openid-configuration`, { headers: { 'if-none-match': etag } })).status, 304);
});

test('JWT-SVIDs carry iss, and an OIDC library verifies them from the discovery document alone, across a JWT key rotation', async () => {
  const document = (await (await fetch(`${issuer}/.well-known/openid-configuration`)).json()) as { jwks_uri: string };
  // cooldownDuration 0: refetch the JWKS as soon as a token names a kid it has not seen.
  const jwks = createRemoteJWKSet(new URL(document.jwks_uri), { cooldownDuration: 0 });
  const first = await mint();
  assert.equal(decodeJwt(first).iss, issuer);
  const verified = await jwtVerify(first, jwks, { issuer, audience: 'sts.amazonaws.com' });
  assert.equal(verified.payload.sub, 'spiffe://example.org/web');

  const keys = async () => ((await (await fetch(document.jwks_uri)).json()) as { keys: { kid: string; use: string; alg: string; kty: string }[] }).keys;
  const before = await keys();
  assert.equal(before.length, 1);
  assert.deepEqual([before[0]?.use, before[0]?.alg, before[0]?.kty], ['sig', 'ES256', 'EC']);
  assert.equal(before[0]?.kid, verified.protectedHeader.kid);

  // A prepared key is published before it signs.
  const prepared = await admin('POST', '/v1/authorities/jwt/prepare', {});
  assert.equal(prepared.status, 201);
  assert.deepEqual((await keys()).map((k) => k.kid).sort(), [before[0]?.kid, prepared.body.id].sort());
  assert.equal((await admin('POST', '/v1/authorities/jwt/activate', {})).status, 200);
  const second = await mint();
  const afterRotation = await jwtVerify(second, jwks, { issuer, audience: 'sts.amazonaws.com' });
  assert.equal(afterRotation.protectedHeader.kid, prepared.body.id);
  // A token for another issuer is refused by the same check.
  await assert.rejects(jwtVerify(second, jwks, { issuer: 'https://other.example', audience: 'sts.amazonaws.com' }), /unexpected "iss" claim value/);
});

test('anything else on the discovery listener: 404 naming what is served, 405 for other methods', async () => {
  const missing = await fetch(`${issuer}/v1/entries`);
  assert.equal(missing.status, 404);
  assert.match(((await missing.json()) as { error: { message: string } }).error.message, /serves \/\.well-known\/openid-configuration and \/keys/);
  const post = await fetch(`${issuer}/keys`, { method: 'POST' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

test('jwt.issuer must be an https URL (http only on loopback), and oidc_discovery needs it', () => {
  const base = 'trust_domain: example.org\n';
  for (const [name, text, message] of [
    ['http issuer', `${base}jwt:\n  issuer: http://example.com\n`, /jwt\.issuer: must be an https:\/\/ URL/],
    ['issuer with a query', `${base}jwt:\n  issuer: https://example.com/?a=b\n`, /jwt\.issuer: must be an https:\/\/ URL without query/],
    ['not a URL', `${base}jwt:\n  issuer: example.com\n`, /jwt\.issuer/],
    ['discovery without an issuer', `${base}oidc_discovery:\n  addr: 127.0.0.1:8090\n`, /jwt\.issuer: oidc_discovery needs jwt\.issuer/],
    ['bad discovery addr', `${base}jwt:\n  issuer: https://oidc.example.org\noidc_discovery:\n  addr: anywhere\n`, /oidc_discovery\.addr: must be host:port/],
  ] as const) {
    assert.throws(() => loadServerConfig(configFile(`${name.replace(/\W/g, '_')}.yaml`, text), {}), message, name);
  }
  assert.equal(loadServerConfig(configFile('ok.yaml', `${base}jwt:\n  issuer: https://oidc.example.org/td\n`), {}).jwt.issuer, 'https://oidc.example.org/td');
});
