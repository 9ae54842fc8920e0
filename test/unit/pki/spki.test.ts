import assert from 'node:assert/strict';
import { KeyObject, createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import fc from 'fast-check';
import { x509 } from '../../../src/pki/crypto-provider.js';
import { generateKeyPair, type KeyAlgorithm } from '../../../src/pki/keys.js';
import { keyIdentifierOf, publicKeyOfSpki, spkiDerOf, subjectPublicKeyInfoOf } from '../../../src/pki/spki.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const exported = (key: CryptoKey) => KeyObject.from(key).export({ type: 'spki', format: 'der' });

// Enough keys that coordinates and moduli with leading zero bytes (1 in 256 each) come up.
const counts: Record<KeyAlgorithm, number> = { 'ec-p256': 600, 'ec-p384': 300, 'rsa-2048': 20, 'rsa-3072': 3 };

for (const [algorithm, count] of Object.entries(counts) as [KeyAlgorithm, number][]) {
  test(`${algorithm}: spkiDerOf (built from the JWK) is OpenSSL's SPKI DER, byte for byte, for ${count} keys`, async () => {
    for (let i = 0; i < count; i++) {
      const { publicKey } = await generateKeyPair(algorithm);
      assert.equal(hex(spkiDerOf(publicKey)), hex(exported(publicKey)));
    }
  });
}

test('other key types take OpenSSL\'s encoder', () => {
  const { publicKey } = generateKeyPairSync('ed25519');
  assert.equal(hex(spkiDerOf(publicKey)), hex(publicKey.export({ type: 'spki', format: 'der' })));
  const p521 = generateKeyPairSync('ec', { namedCurve: 'P-521' }).publicKey;
  assert.equal(hex(spkiDerOf(p521)), hex(p521.export({ type: 'spki', format: 'der' })));
});

test('keyIdentifierOf is the SHA-1 of the key bits, as @peculiar/x509\'s SubjectKeyIdentifierExtension.create computes it', async () => {
  for (const algorithm of ['ec-p256', 'rsa-2048'] as const) {
    const { publicKey } = await generateKeyPair(algorithm);
    const bits = subjectPublicKeyInfoOf(spkiDerOf(publicKey)).subjectPublicKey;
    const reference = await x509.SubjectKeyIdentifierExtension.create(publicKey);
    assert.equal(hex(keyIdentifierOf(bits)), reference.keyId);
    assert.equal(hex(keyIdentifierOf(bits)), createHash('sha1').update(bits).digest('hex'));
  }
});

const openssl = (spki: Uint8Array) => createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });

test('publicKeyOfSpki (a JWK import for P-256 and RSA) gives the key OpenSSL\'s decoder gives', async () => {
  for (const algorithm of ['ec-p256', 'ec-p384', 'rsa-2048', 'rsa-3072'] as const) {
    const spki = spkiDerOf((await generateKeyPair(algorithm)).publicKey);
    assert.ok(publicKeyOfSpki(spki).equals(openssl(spki)), algorithm);
  }
  // A compressed point is not the canonical shape: it takes OpenSSL's decoder.
  const { x, y } = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  const yIsOdd = (Buffer.from(y as string, 'base64url')[31] as number) & 1;
  const compressed = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), Buffer.from([yIsOdd ? 3 : 2]), Buffer.from(x as string, 'base64url')]);
  assert.equal(publicKeyOfSpki(compressed).export({ format: 'jwk' }).y, y);
  assert.ok(publicKeyOfSpki(compressed).equals(openssl(compressed)));
});

for (const algorithm of ['ec-p256', 'rsa-2048'] as const) {
  test(`${algorithm}: a mutated SPKI is never read by publicKeyOfSpki as anything but what OpenSSL reads (off-curve points refused)`, async () => {
    const spki = spkiDerOf((await generateKeyPair(algorithm)).publicKey);
    let read = 0;
    const mutation = fc.array(fc.record({ at: fc.nat({ max: spki.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 });
    fc.assert(
      fc.property(mutation, (changes) => {
        const bytes = Uint8Array.from(spki);
        for (const c of changes) bytes[c.at] = c.value;
        let key: KeyObject;
        try {
          key = publicKeyOfSpki(bytes);
        } catch {
          return;
        }
        read++;
        assert.ok(key.equals(openssl(bytes)));
      }),
      { seed: 5150, numRuns: algorithm === 'ec-p256' ? 3000 : 500 },
    );
    assert.ok(read > 0, 'some mutations (e.g. in an RSA modulus) still read as keys');
  });
}
