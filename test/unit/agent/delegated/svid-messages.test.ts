import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { CachedSvid } from '../../../../src/agent/cache/svid-cache.js';
import { spiffeIdMessage, toJwtSvidMessage, toX509SvidWithKey } from '../../../../src/agent/endpoints/delegated/svid-messages.js';
import { agentEntry } from './entries-fixture.js';

test('§8.12: SPIFFEID messages carry the bare trust domain name and the path with its leading slash', () => {
  assert.deepEqual(spiffeIdMessage('spiffe://spiffe.cilium/identity/42'), { trust_domain: 'spiffe.cilium', path: '/identity/42' });
});

test('DI-05: X509SVIDWithKey has one DER per chain element (leaf first), NotAfter in Unix seconds, the hint and the PKCS#8 key', () => {
  const svid: CachedSvid = {
    entryId: 'e1',
    spiffeId: 'spiffe://a.org/w',
    hint: 'internal',
    revision: 0,
    serial: '01',
    chainDer: [new Uint8Array([1, 1]), new Uint8Array([2, 2, 2])],
    privateKeyPkcs8: new Uint8Array([9]),
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-01T01:00:00.900Z'),
    rotateAt: 0,
    receivedAt: 0,
  };
  assert.deepEqual(toX509SvidWithKey(svid), {
    x509_svid: { cert_chain: [Buffer.from([1, 1]), Buffer.from([2, 2, 2])], id: { trust_domain: 'a.org', path: '/w' }, expires_at: Date.parse('2030-01-01T01:00:00Z') / 1000, hint: 'internal' },
    x509_svid_key: Buffer.from([9]),
  });
});

test('DI-07: a JWTSVID message takes expires_at and issued_at from the token\'s own exp and iat', () => {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const token = `${b64({ alg: 'ES256', kid: 'k', typ: 'JWT' })}.${b64({ sub: 'spiffe://a.org/w', aud: ['x'], exp: 1900000300, iat: 1900000000 })}.c2ln`;
  const message = toJwtSvidMessage(agentEntry('spiffe://a.org/w', ['unix:uid:1'], { hint: 'h' }), token);
  assert.deepEqual(message, { token, id: { trust_domain: 'a.org', path: '/w' }, expires_at: 1900000300, issued_at: 1900000000, hint: 'h' });
});
