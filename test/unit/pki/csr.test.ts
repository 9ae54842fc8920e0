import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { KeyObject, generateKeyPairSync, sign } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { CsrError, createCsr, createCsrWithLibrary, verifyCsr, verifyCsrWithLibrary } from '../../../src/pki/csr.js';
import { encodeCertificationRequest, parseCsr } from '../../../src/pki/csr-der.js';
import { derTag, derTlv, readDer } from '../../../src/pki/der.js';
import { exportPublicKeySpki, generateKeyPair, type KeyAlgorithm, type KeyPair } from '../../../src/pki/keys.js';
import { pemEncode } from '../../../src/pki/pem.js';
import { spkiDerOf } from '../../../src/pki/spki.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-csr-');
after(() => rmSync(dir, { recursive: true, force: true }));

const keyTypes: KeyAlgorithm[] = ['ec-p256', 'ec-p384', 'rsa-2048'];
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
/** The CertificationRequestInfo TLV, found with the generic TLV reader (not the parser under test). */
function requestInfoOf(der: Uint8Array): Uint8Array {
  const outer = readDer(der, 0);
  const info = readDer(der, outer.contentStart, outer.end);
  return der.subarray(info.start, info.end);
}

const keyPool = new Map<KeyAlgorithm, KeyPair[]>(await Promise.all(keyTypes.map(async (t) => [t, await Promise.all([1, 2, 3].map(() => generateKeyPair(t)))] as const)));
const keysOf = (t: KeyAlgorithm) => keyPool.get(t) as KeyPair[];

function openssl(args: string[]): { status: number | null; out: string } {
  const result = spawnSync('openssl', args, { encoding: 'utf8', cwd: dir });
  return { status: result.status, out: `${result.stdout}${result.stderr}` };
}

/** A CSR made by openssl req, as DER. */
function opensslCsr(name: string, keyArgs: string[], extra: string[] = []): Uint8Array {
  const made = openssl(['req', '-new', ...keyArgs, '-nodes', '-keyout', `${name}.key`, '-out', `${name}.der`, '-outform', 'DER', '-subj', '/CN=ignored/O=anything', ...extra]);
  assert.equal(made.status, 0, made.out);
  return new Uint8Array(readFileSync(join(dir, `${name}.der`)));
}

function rejectsWith(message: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof CsrError, `expected a CsrError, got ${String(err)}`);
    assert.match(err.message, message);
    return true;
  };
}

describe('CSRs in direct DER (the fast path) against @peculiar/x509 (the reference)', () => {
  for (const keyType of keyTypes) {
    test(`${keyType}: the CertificationRequestInfo is byte for byte the reference's; each path verifies the other's CSR`, async () => {
      for (const keys of keysOf(keyType)) {
        const fast = await createCsr(keys);
        const reference = await createCsrWithLibrary(keys);
        assert.equal(hex(requestInfoOf(fast)), hex(requestInfoOf(reference)));
        assert.equal(hex(parseCsr(fast).signatureAlgorithm), hex(parseCsr(reference).signatureAlgorithm));

        const spki = new Uint8Array(await exportPublicKeySpki(keys.publicKey));
        const fastVerified = await verifyCsr(reference);
        assert.equal(fastVerified.algorithm, keyType);
        assert.equal(hex(fastVerified.subjectPublicKeyInfo), hex(spki));
        const referenceVerified = await verifyCsrWithLibrary(fast);
        assert.equal(referenceVerified.algorithm, keyType);
        assert.equal(hex(new Uint8Array(await exportPublicKeySpki(referenceVerified.publicKey))), hex(spki));
      }
    });
  }

  test('openssl req -verify accepts the fast CSRs of every key type', async () => {
    for (const keyType of keyTypes) {
      const path = join(dir, `fast-${keyType}.csr`);
      writeFileSync(path, pemEncode('CERTIFICATE REQUEST', await createCsr(keysOf(keyType)[0] as KeyPair)));
      const checked = openssl(['req', '-in', path, '-verify', '-noout']);
      assert.equal(checked.status, 0, checked.out);
      assert.match(checked.out, /verify OK|Certificate request self-signature verify OK/);
    }
  });

  test('with importKey the key also comes as a CryptoKey, the same key', async () => {
    const keys = keysOf('ec-p384')[0] as KeyPair;
    const verified = await verifyCsr(await createCsr(keys), { importKey: true });
    assert.equal(verified.publicKey.type, 'public');
    assert.equal(hex(new Uint8Array(await exportPublicKeySpki(verified.publicKey))), hex(spkiDerOf(keys.publicKey)));
  });

  test('CSRs made by openssl req are accepted: subject and attributes are ignored, P-384 with SHA-256, RSA with SHA-512, PEM input', async () => {
    const p384 = opensslCsr('p384', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-384']);
    assert.equal((await verifyCsr(p384)).algorithm, 'ec-p384');
    const rsa = opensslCsr('rsa', ['-newkey', 'rsa:2048', '-sha512'], ['-addext', 'subjectAltName=DNS:ignored.example']);
    assert.equal((await verifyCsr(rsa)).algorithm, 'rsa-2048');
    const withPassword = opensslCsr('pw', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256'], ['-addext', 'keyUsage=digitalSignature']);
    assert.equal((await verifyCsr(pemEncode('CERTIFICATE REQUEST', withPassword))).algorithm, 'ec-p256');
  });
});

describe('verifyCsr refuses, always with a CsrError, and with the reference\'s message where the reference refuses too', () => {
  const keys = () => keysOf('ec-p256')[0] as KeyPair;

  test('no PEM block, garbage DER and a bad signature: the same messages as the reference', async () => {
    for (const input of ['hello', new Uint8Array([1, 2, 3])]) {
      const fast = await verifyCsr(input).then(() => 'accepted', (err: Error) => err.message);
      const reference = await verifyCsrWithLibrary(input).then(() => 'accepted', (err: Error) => err.message);
      assert.equal(fast.split(':').slice(0, 2).join(':'), reference.split(':').slice(0, 2).join(':'));
      assert.match(fast, /^csr: (no PEM block|cannot parse PKCS#10 request)/);
    }
    const good = await createCsr(keys());
    const tampered = Uint8Array.from(good);
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 0x01;
    await assert.rejects(verifyCsr(tampered), rejectsWith(/^csr: signature does not verify \(no proof of possession of the private key\)$/));
    await assert.rejects(verifyCsrWithLibrary(tampered), rejectsWith(/^csr: signature does not verify \(no proof of possession of the private key\)$/));
  });

  test('keys Sigil does not issue for: the same "csr: unsupported ..." messages as the reference', async () => {
    const ed25519 = opensslCsr('ed25519', ['-newkey', 'ed25519']);
    const p521 = opensslCsr('p521', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-521']);
    for (const [csr, message] of [[ed25519, /^csr: unsupported key type ed25519/], [p521, /^csr: unsupported EC curve secp521r1/]] as const) {
      await assert.rejects(verifyCsr(csr), rejectsWith(message));
      await assert.rejects(verifyCsrWithLibrary(csr), rejectsWith(message));
    }
  });

  test('SHA-1 signatures are refused (the reference accepted them)', async () => {
    const sha1 = opensslCsr('sha1', ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-sha1']);
    await assert.rejects(verifyCsr(sha1), rejectsWith(/^csr: unsupported signature algorithm 1\.2\.840\.10045\.4\.1 /));
  });

  test('a signature algorithm of the other key family is refused before verifying', async () => {
    const k = keys();
    const good = parseCsr(await createCsr(k));
    const rsaAlgorithm = Buffer.from('300d06092a864886f70d01010b0500', 'hex');
    const mixed = encodeCertificationRequest(good.certificationRequestInfo, rsaAlgorithm, good.signature);
    await assert.rejects(verifyCsr(mixed), rejectsWith(/^csr: a RSA signature algorithm does not fit a EC key$/));
  });

  test('structure: trailing bytes, wrong outer tag, version 1, no attribute set, unused signature bits', async () => {
    const k = keys();
    const privateKey = KeyObject.from(k.privateKey);
    const spki = spkiDerOf(k.publicKey);
    const ecdsaSha256 = Buffer.from('300a06082a8648ce3d040302', 'hex');
    // Properly signed, so that only the structure is at fault.
    const signed = (info: Buffer) => encodeCertificationRequest(info, ecdsaSha256, sign('sha256', info, privateKey));
    const good = await createCsr(k);
    const cases: [Uint8Array, RegExp][] = [
      [Buffer.concat([good, Buffer.from([0])]), /trailing bytes after the CSR/],
      [Uint8Array.from([0x31, ...good.subarray(1)]), /CertificationRequest: expected tag 0x30/],
      [signed(derTlv(derTag.sequence, Buffer.from('020101', 'hex'), Buffer.from('3000', 'hex'), spki, Buffer.from('a000', 'hex'))), /version is not v1/],
      [signed(derTlv(derTag.sequence, Buffer.from('020100', 'hex'), Buffer.from('3000', 'hex'), spki)), /the attributes field is missing/],
      [signed(derTlv(derTag.sequence, Buffer.from('020100', 'hex'), Buffer.from('3000', 'hex'), spki, Buffer.from('a000', 'hex'), Buffer.from('0500', 'hex'))), /extra fields in CertificationRequestInfo/],
    ];
    const info = parseCsr(good);
    cases.push([derTlv(derTag.sequence, info.certificationRequestInfo, ecdsaSha256, derTlv(derTag.bitString, Buffer.from([1]), info.signature)), /not a BIT STRING without unused bits/]);
    for (const [der, message] of cases) {
      await assert.rejects(verifyCsr(der), rejectsWith(new RegExp(`^csr: cannot parse PKCS#10 request: .*${message.source}`)));
    }
  });

  for (const keyType of keyTypes) {
    test(`${keyType}: a mutated valid CSR is never accepted, and every refusal is a CsrError`, async () => {
      const good = await createCsr(keysOf(keyType)[0] as KeyPair);
      const mutation = fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 });
      await fc.assert(
        fc.asyncProperty(mutation, fc.nat({ max: good.length }), async (changes, cut) => {
          const bytes = Uint8Array.from(good.subarray(0, cut === 0 ? good.length : cut));
          for (const c of changes) if (c.at < bytes.length) bytes[c.at] = c.value;
          fc.pre(!Buffer.from(bytes).equals(good));
          await assert.rejects(verifyCsr(bytes), (err: unknown) => err instanceof CsrError);
        }),
        { seed: 1010, numRuns: keyType.startsWith('rsa') ? 1000 : 2000 },
      );
    });
  }

  test('random bytes and random PEM are CsrErrors, never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        await assert.rejects(verifyCsr(bytes), (err: unknown) => err instanceof CsrError);
        await assert.rejects(verifyCsr(pemEncode('CERTIFICATE REQUEST', bytes)), (err: unknown) => err instanceof CsrError);
      }),
      { seed: 1011, numRuns: 1000 },
    );
    // A random key with a SEQUENCE-shaped prefix gets past the outer tag and fails deeper.
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    await assert.rejects(verifyCsr(derTlv(derTag.sequence, publicKey.export({ type: 'spki', format: 'der' }))), rejectsWith(/^csr: cannot parse PKCS#10 request: /));
  });
});
