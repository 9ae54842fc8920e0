import assert from 'node:assert/strict';
import { KeyObject, createHash, generateKeyPairSync } from 'node:crypto';
import { test } from 'node:test';
import { x509 } from '../../../src/pki/crypto-provider.js';
import { generateKeyPair, type KeyAlgorithm } from '../../../src/pki/keys.js';
import { keyIdentifierOf, spkiDerOf, subjectPublicKeyInfoOf } from '../../../src/pki/spki.js';

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
