import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { exportPrivateKeyPem, exportPublicKeyJwk, generateKeyPair, importPrivateKeyPem, keyAlgorithms } from '../../../src/pki/keys.js';
import { pemDecodeAll, pemEncode } from '../../../src/pki/pem.js';
import { randomSerialHex } from '../../../src/pki/serial.js';

test('every key algorithm round-trips through PKCS#8 PEM', async () => {
  for (const algorithm of keyAlgorithms) {
    const pair = await generateKeyPair(algorithm);
    const pem = await exportPrivateKeyPem(pair.privateKey);
    assert.match(pem, /^-----BEGIN PRIVATE KEY-----\n/);
    const back = await importPrivateKeyPem(pem);
    assert.equal(back.algorithm, algorithm);
    assert.deepEqual(await exportPublicKeyJwk(back.publicKey), await exportPublicKeyJwk(pair.publicKey));
  }
});

test('SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY") PEM, as openssl writes them, import too', async () => {
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-384' }).privateKey.export({ format: 'pem', type: 'sec1' }).toString();
  assert.equal((await importPrivateKeyPem(ec)).algorithm, 'ec-p384');
  const rsa = generateKeyPairSync('rsa', { modulusLength: 3072 }).privateKey.export({ format: 'pem', type: 'pkcs1' }).toString();
  assert.equal((await importPrivateKeyPem(rsa)).algorithm, 'rsa-3072');
});

test('unsupported keys are refused with the reason', async () => {
  const ed = generateKeyPairSync('ed25519').privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await assert.rejects(importPrivateKeyPem(ed), /unsupported key type ed25519/);
  const small = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await assert.rejects(importPrivateKeyPem(small), /unsupported RSA key size 1024/);
  const k1 = generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey.export({ format: 'pem', type: 'pkcs8' }).toString();
  await assert.rejects(importPrivateKeyPem(k1), /unsupported EC curve secp256k1/);
});

test('the public JWK carries key material only (B-06)', async () => {
  const jwk = await exportPublicKeyJwk((await generateKeyPair('ec-p256')).publicKey);
  assert.deepEqual(Object.keys(jwk).sort(), ['crv', 'kty', 'x', 'y']);
});

test('serials are 128-bit, positive, full length and distinct', () => {
  const serials = new Set(Array.from({ length: 1000 }, randomSerialHex));
  assert.equal(serials.size, 1000);
  for (const s of serials) {
    assert.match(s, /^[0-7][0-9a-f]{31}$/);
    assert.notEqual(s.slice(0, 2), '00');
  }
});

test('PEM encode/decode round-trip with 64-column lines', () => {
  const der = new Uint8Array(Array.from({ length: 200 }, (_, i) => i));
  const pem = pemEncode('CERTIFICATE', der);
  assert.ok(pem.split('\n').every((l) => l.length <= 64));
  const [block] = pemDecodeAll(`junk\n${pem}more junk`);
  assert.equal(block?.label, 'CERTIFICATE');
  assert.deepEqual(block?.der, der);
});
