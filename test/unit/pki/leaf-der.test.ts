import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { X509Certificate, createHash } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { readCertificateStructure } from '../../../src/pki/certificate-der.js';
import {
  certificateDer,
  createIntermediateCaCertificate,
  createSelfSignedCaCertificate,
  mintX509Leaf,
  mintX509LeafWithLibrary,
  serialHexOf,
  type CertificateIssuer,
} from '../../../src/pki/certificates.js';
import { x509 } from '../../../src/pki/crypto-provider.js';
import { encodeLeafTbs, leafIssuerTemplate, mintX509LeafDer, type LeafFields, type LeafIssuerTemplate } from '../../../src/pki/leaf-der.js';
import { generateKeyPair, signatureAlgorithmFor, type KeyAlgorithm, type KeyPair } from '../../../src/pki/keys.js';
import { pemEncode } from '../../../src/pki/pem.js';
import { spkiDerOf } from '../../../src/pki/spki.js';
import { checkX509SvidLeaf } from '../../../src/spiffe/x509-svid-profile.js';
import { dnsNameArb, workloadSpiffeIdArb } from '../../helpers/spiffe-arbitraries.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-leaf-der-');
after(() => rmSync(dir, { recursive: true, force: true }));

const propertyKeyTypes: KeyAlgorithm[] = ['ec-p256', 'ec-p384', 'rsa-2048'];
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const tbsOf = (der: Uint8Array) => {
  const { tbs } = readCertificateStructure(der);
  return der.subarray(tbs.start, tbs.end);
};

async function newRoot(algorithm: KeyAlgorithm, trustDomain = 'example.org'): Promise<CertificateIssuer> {
  const keys = await generateKeyPair(algorithm);
  const certificate = await createSelfSignedCaCertificate(keys, { trustDomain, subject: 'C=US, O=Sigil', notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('2099-01-01T00:00:00Z') });
  return { certificate, keys };
}

const templateOf = (issuer: CertificateIssuer) => leafIssuerTemplate(certificateDer(issuer.certificate), issuer.keys.privateKey);

// Two subject keys of each type: the SKI and SPKI differ per key, so the property sees several.
const subjectKeys: KeyPair[] = await Promise.all(propertyKeyTypes.flatMap((algorithm) => [generateKeyPair(algorithm), generateKeyPair(algorithm)]));

const serialArb = fc
  .uint8Array({ minLength: 1, maxLength: 20 })
  .filter((bytes) => bytes.some((b) => b !== 0))
  .chain((bytes) => fc.constantFrom(Buffer.from(bytes).toString('hex'), Buffer.from(bytes).toString('hex').replace(/^0/, '')))
  .filter((serial) => serial !== '');
// Milliseconds on purpose: both encoders drop them. The second range straddles the UTCTime/GeneralizedTime switch at 2050 (RFC 5280 §4.1.2.5).
const instantArb = fc.oneof(
  fc.integer({ min: Date.UTC(1950, 0, 1), max: Date.UTC(2100, 0, 1) }),
  fc.integer({ min: Date.UTC(2049, 11, 31) - 86_400_000, max: Date.UTC(2050, 0, 1) + 86_400_000 }),
);
const validityArb = fc.tuple(instantArb, instantArb).map(([a, b]) => ({ notBefore: new Date(Math.min(a, b)), notAfter: new Date(Math.max(a, b)) }));

interface LeafCase {
  spiffeId: string;
  dnsNames: string[];
  subject: KeyPair;
  notBefore: Date;
  notAfter: Date;
  serialHex: string;
}

const leafCaseArb = (validity: fc.Arbitrary<{ notBefore: Date; notAfter: Date }>) =>
  fc.record({
    spiffeId: workloadSpiffeIdArb,
    dnsNames: fc.array(dnsNameArb, { maxLength: 3 }),
    subject: fc.constantFrom(...subjectKeys),
    validity,
    serialHex: serialArb,
  }).map(({ validity: v, ...rest }): LeafCase => ({ ...rest, ...v }));

const fieldsOf = (leaf: LeafCase): LeafFields & { serialHex: string } => ({
  spiffeId: leaf.spiffeId,
  dnsNames: leaf.dnsNames,
  subjectPublicKeyInfo: spkiDerOf(leaf.subject.publicKey),
  notBefore: leaf.notBefore,
  notAfter: leaf.notAfter,
  serialHex: leaf.serialHex,
});

const viaLibrary = (issuer: CertificateIssuer, leaf: LeafCase) =>
  mintX509LeafWithLibrary({ spiffeId: leaf.spiffeId, dnsNames: leaf.dnsNames, subjectPublicKey: leaf.subject.publicKey, issuer, notBefore: leaf.notBefore, notAfter: leaf.notAfter, serialHex: leaf.serialHex });

async function assertSameTbsAsLibrary(issuer: CertificateIssuer, template: LeafIssuerTemplate, leaf: LeafCase): Promise<Uint8Array> {
  const reference = await viaLibrary(issuer, leaf);
  const fast = await mintX509LeafDer(template, fieldsOf(leaf));
  assert.equal(hex(tbsOf(fast.der)), hex(tbsOf(certificateDer(reference))));
  assert.equal(fast.serialHex, serialHexOf(reference));
  // ECDSA signatures are randomized, so the signatures themselves are not compared: each must verify.
  assert.ok(new X509Certificate(fast.der).verify(new X509Certificate(certificateDer(issuer.certificate)).publicKey), 'the fast leaf is signed by the issuer');
  return fast.der;
}

describe('leaf certificates in direct DER (the fast path) against @peculiar/x509 (the reference)', () => {
  for (const algorithm of propertyKeyTypes) {
    test(`X-01 X-03 X-11 X-14 X-16 X-18 ${algorithm} issuer: the TBSCertificate is byte for byte the reference's, for random IDs, DNS names, validity and serials`, async () => {
      const issuer = await newRoot(algorithm);
      const template = templateOf(issuer);
      await fc.assert(
        fc.asyncProperty(leafCaseArb(validityArb), async (leaf) => {
          await assertSameTbsAsLibrary(issuer, template, leaf);
        }),
        { seed: 20261210, numRuns: algorithm.startsWith('rsa') ? 60 : 100 },
      );
    });
  }

  test('RSA-3072 issuer and subject: the same TBS as the reference', async () => {
    const issuer = await newRoot('rsa-3072');
    const subject = await generateKeyPair('rsa-3072');
    await assertSameTbsAsLibrary(issuer, templateOf(issuer), {
      spiffeId: 'spiffe://example.org/rsa/3072',
      dnsNames: ['big.example.org'],
      subject,
      notBefore: new Date('2030-01-01T00:00:00Z'),
      notAfter: new Date('2030-01-02T00:00:00Z'),
      serialHex: '7fffffffffffffffffffffffffffffff',
    });
  });

  test('an intermediate issuer (signed by an upstream root): the AKI is its SKI, the issuer name its subject, and openssl verifies the chain', async () => {
    const root = await newRoot('ec-p384', 'upstream.example');
    const keys = await generateKeyPair('ec-p256');
    const certificate = await createIntermediateCaCertificate(keys, root, { trustDomain: 'example.org', subject: 'C=US, O=Sigil, OU=Intermediate', notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('2099-01-01T00:00:00Z') });
    const issuer = { certificate, keys };
    const leafDer = await assertSameTbsAsLibrary(issuer, templateOf(issuer), {
      spiffeId: 'spiffe://example.org/behind/intermediate',
      dnsNames: [],
      subject: subjectKeys[0] as KeyPair,
      notBefore: new Date('2030-01-01T00:00:00Z'),
      notAfter: new Date('2030-01-02T00:00:00Z'),
      serialHex: '01',
    });
    const out = opensslVerify(pemEncode('CERTIFICATE', certificateDer(root.certificate)), [leafDer], Date.UTC(2030, 0, 1, 12) / 1000, pemEncode('CERTIFICATE', certificateDer(certificate)));
    assert.match(out, /: OK\n$/);
  });

  test('an issuer certificate without a SubjectKeyIdentifier: the AKI is computed from its key (SHA-1 of the key bits), as the reference does', async () => {
    const keys = await generateKeyPair('ec-p256');
    const certificate = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: '01',
      name: 'CN=No SKI',
      notBefore: new Date('2000-01-01T00:00:00Z'),
      notAfter: new Date('2099-01-01T00:00:00Z'),
      keys,
      signingAlgorithm: signatureAlgorithmFor('ec-p256'),
      extensions: [new x509.BasicConstraintsExtension(true, undefined, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const issuer = { certificate, keys };
    const template = templateOf(issuer);
    const issuerKeyBits = new Uint8Array(await crypto.subtle.exportKey('raw', keys.publicKey));
    assert.equal(hex(template.authorityKeyIdExtensionDer.subarray(-20)), createHash('sha1').update(issuerKeyBits).digest('hex'));
    await assertSameTbsAsLibrary(issuer, template, {
      spiffeId: 'spiffe://example.org/no-ski',
      dnsNames: ['a.example'],
      subject: subjectKeys[2] as KeyPair,
      notBefore: new Date('2030-01-01T00:00:00Z'),
      notAfter: new Date('2030-01-02T00:00:00Z'),
      serialHex: '02',
    });
  });

  test('mintX509Leaf (the CryptoKey API) goes through the fast path: its TBS is the reference TBS', async () => {
    const issuer = await newRoot('ec-p256');
    const leaf = { spiffeId: 'spiffe://example.org/crypto-key', dnsNames: ['x.example'], subjectPublicKey: (subjectKeys[1] as KeyPair).publicKey, issuer, notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2030-02-01T00:00:00Z'), serialHex: '0abc' };
    const fast = await mintX509Leaf(leaf);
    const reference = await mintX509LeafWithLibrary(leaf);
    assert.equal(hex(tbsOf(certificateDer(fast))), hex(tbsOf(certificateDer(reference))));
    assert.equal(serialHexOf(fast), '0abc');
  });
});

function opensslVerify(caPem: string, leaves: readonly Uint8Array[], atSeconds: number, untrustedPem?: string): string {
  const caPath = join(dir, `ca-${Math.random().toString(36).slice(2)}.pem`);
  writeFileSync(caPath, caPem);
  const args = ['verify', '-x509_strict', '-attime', String(Math.floor(atSeconds)), '-CAfile', caPath];
  if (untrustedPem) {
    const untrustedPath = `${caPath}.untrusted.pem`;
    writeFileSync(untrustedPath, untrustedPem);
    args.push('-untrusted', untrustedPath);
  }
  const paths = leaves.map((der, i) => {
    const path = `${caPath}.leaf-${i}.pem`;
    writeFileSync(path, pemEncode('CERTIFICATE', der));
    return path;
  });
  const result = spawnSync('openssl', [...args, ...paths], { encoding: 'utf8' });
  assert.equal(result.status, 0, `openssl verify failed:\n${result.stdout}${result.stderr}`);
  return result.stdout;
}

describe('a large random sample of fast leaves', () => {
  const at = Date.UTC(2031, 5, 15, 12);
  // Every leaf is valid at `at`, with random lifetimes on both sides of it (at least a second: OpenSSL counts notAfter == at as expired).
  const aroundAt = fc.tuple(fc.integer({ min: 0, max: 400 * 86_400_000 }), fc.integer({ min: 1000, max: 400 * 86_400_000 })).map(([before, afterAt]) => ({ notBefore: new Date(at - before), notAfter: new Date(at + afterAt) }));

  for (const algorithm of propertyKeyTypes) {
    test(`X-20 X-21 ${algorithm} issuer: 200 random leaves pass openssl verify -x509_strict and the X509-SVID leaf profile check`, async () => {
      const issuer = await newRoot(algorithm);
      const template = templateOf(issuer);
      const cases = fc.sample(leafCaseArb(aroundAt), { seed: 4242, numRuns: 200 });
      const leaves = await Promise.all(cases.map((leaf) => mintX509LeafDer(template, fieldsOf(leaf))));
      leaves.forEach((leaf, i) => checkX509SvidLeaf(leaf.der, { expectedId: (cases[i] as LeafCase).spiffeId, at: new Date(at) }));
      const out = opensslVerify(pemEncode('CERTIFICATE', certificateDer(issuer.certificate)), leaves.map((l) => l.der), at / 1000);
      assert.equal(out.split('\n').filter((line) => line.endsWith(': OK')).length, 200, out);
    });
  }
});

describe('what the fast encoder refuses, and where it differs from the reference on purpose', () => {
  const issuerPromise = newRoot('ec-p256');
  const base = (): LeafFields & { serialHex: string } => ({
    spiffeId: 'spiffe://example.org/w',
    dnsNames: [],
    subjectPublicKeyInfo: spkiDerOf((subjectKeys[0] as KeyPair).publicKey),
    notBefore: new Date('2030-01-01T00:00:00Z'),
    notAfter: new Date('2030-01-02T00:00:00Z'),
    serialHex: '01',
  });

  test('RFC 5280 §4.1.2.2: a zero serial and one over 20 octets are refused (the reference replaces zero with a random serial)', async () => {
    const template = templateOf(await issuerPromise);
    assert.throws(() => encodeLeafTbs(template, { ...base(), serialHex: '0000' }), /serial must be positive/);
    assert.throws(() => encodeLeafTbs(template, { ...base(), serialHex: '01'.repeat(21) }), /serial has 21 bytes/);
    assert.throws(() => encodeLeafTbs(template, { ...base(), serialHex: 'xyz' }), /serial must be hex/);
    assert.ok(encodeLeafTbs(template, { ...base(), serialHex: `00${'ff'.repeat(20)}` }).length > 0, '20 octets with the top bit set are allowed');
  });

  test('names that an IA5String or a DN cannot carry as given are refused, as is a validity that ends before it starts', async () => {
    const template = templateOf(await issuerPromise);
    assert.throws(() => encodeLeafTbs(template, { ...base(), spiffeId: 'spiffe://example.org/ü' }), /printable ASCII/);
    assert.throws(() => encodeLeafTbs(template, { ...base(), dnsNames: ['a,b'] }), /not a DNS name/);
    assert.throws(() => encodeLeafTbs(template, { ...base(), dnsNames: [''] }), /not a DNS name/);
    assert.throws(() => encodeLeafTbs(template, { ...base(), notBefore: new Date('2030-01-03T00:00:00Z') }), /notBefore must not be after notAfter/);
    assert.throws(() => encodeLeafTbs(template, { ...base(), notAfter: new Date('+010000-01-01T00:00:00Z') }), /years 0000\.\.9999/);
  });

  test('a SubjectPublicKeyInfo with trailing bytes or the wrong shape is refused', async () => {
    const template = templateOf(await issuerPromise);
    const spki = base().subjectPublicKeyInfo;
    assert.throws(() => encodeLeafTbs(template, { ...base(), subjectPublicKeyInfo: Buffer.concat([spki, Buffer.from([0])]) }), /trailing bytes/);
    assert.throws(() => encodeLeafTbs(template, { ...base(), subjectPublicKeyInfo: Buffer.from('3003020101', 'hex') }), /SubjectPublicKeyInfo algorithm/);
  });

  test('a template refuses a private key that is not the issuer certificate\'s', async () => {
    const issuer = await issuerPromise;
    const other = await generateKeyPair('ec-p256');
    assert.throws(() => leafIssuerTemplate(certificateDer(issuer.certificate), other.privateKey), /does not belong to the issuer certificate/);
    assert.throws(() => leafIssuerTemplate(certificateDer(issuer.certificate), issuer.keys.publicKey), /must be a private key/);
  });

  test('RFC 5280 §4.1.2.5: a time before 1950 is a GeneralizedTime; the reference writes a UTCTime, which reads as 20xx', async () => {
    const issuer = await issuerPromise;
    const leaf = { ...base(), notBefore: new Date('1949-12-31T23:59:59Z') };
    const fast = encodeLeafTbs(templateOf(issuer), leaf);
    assert.ok(fast.includes(Buffer.from('180f31393439313233313233353935395a', 'hex')), 'GeneralizedTime 19491231235959Z');
    const reference = await mintX509LeafWithLibrary({ ...leaf, subjectPublicKey: (subjectKeys[0] as KeyPair).publicKey, issuer });
    assert.ok(Buffer.from(tbsOf(certificateDer(reference))).includes(Buffer.from('170d3439313233313233353935395a', 'hex')), 'UTCTime 491231235959Z');
  });
});
