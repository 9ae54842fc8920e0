import 'reflect-metadata';
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import * as x509 from '@peculiar/x509';
import { checkX509SvidLeafDer, readCertificateFactsDer } from '../../../src/pki/certificate-facts-der.js';
import { certificateDer, createSelfSignedCaCertificate } from '../../../src/pki/certificates.js';
import { DerError } from '../../../src/pki/der.js';
import { leafIssuerTemplate, mintX509LeafDer } from '../../../src/pki/leaf-der.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import { spkiDerOf } from '../../../src/pki/spki.js';
import { readCertificateFacts, type CertificateFacts } from '../../../src/spiffe/certificate-facts.js';
import { SvidProfileError, checkX509SvidLeaf, type LeafCheckOptions } from '../../../src/spiffe/x509-svid-profile.js';
import { DURING_VALIDITY, EKU_CLIENT_AUTH, EKU_CODE_SIGNING, EKU_SERVER_AUTH, KU, caSpec, issue, leafSpec, type CertSpec } from '../../helpers/spiffe-certs.js';
import { dnsNameArb, workloadSpiffeIdArb } from '../../helpers/spiffe-arbitraries.js';

const ID = 'spiffe://example.org/workload';

/** Facts as plain data (asn1-schema's arrays are subclasses), without keys whose value is undefined. */
function comparable(facts: CertificateFacts): Record<string, unknown> {
  return structuredClone(Object.fromEntries(Object.entries(facts).filter(([, v]) => v !== undefined)));
}

/** The verdict of a leaf check: "ok" or the refusal's message. */
function verdict(check: () => void): string {
  try {
    check();
    return 'ok';
  } catch (err) {
    assert.ok(err instanceof SvidProfileError, `not an SvidProfileError: ${String(err)}`);
    return err.message;
  }
}

/** The two checks agree; a refusal while parsing is compared only as such (the readers word them differently). */
function assertSameVerdict(der: Uint8Array, opts: LeafCheckOptions): string {
  const full = verdict(() => checkX509SvidLeaf(der, opts));
  const fast = verdict(() => checkX509SvidLeafDer(der, opts));
  const parseFailure = /^cannot parse DER encoded certificate: /;
  if (parseFailure.test(full)) assert.match(fast, parseFailure);
  else assert.equal(fast, full);
  return fast;
}

// Each certificate bends one rule of the X509-SVID profile, as in x509-svid-profile.test.ts.
const root = await issue(caSpec());
const duplicateKeyUsage = new x509.KeyUsagesExtension(KU.digitalSignature, true);
const bentLeaves: [string, Partial<CertSpec>, string?][] = [
  ['X-01 X-05 X-18 a SPIRE-shaped leaf', {}],
  ['X-01 no URI SAN', { uris: [], dnsNames: ['web.example.org'] }],
  ['X-02 two URI SANs', { uris: [ID, 'spiffe://example.org/other'] }],
  ['X-03 DNS SANs beside the URI', { dnsNames: ['web.example.org', 'web'] }],
  ['not a spiffe URI', { uris: ['https://example.org/workload'] }],
  ['X-05 a root ID', {}, 'spiffe://example.org'],
  ['X-11 no basic constraints', { basicConstraints: null }],
  ['X-11 cA=true', { basicConstraints: { ca: true, critical: true } }],
  ['X-11 cA=true with a path length', { basicConstraints: { ca: true, pathLength: 3, critical: true } }],
  ['X-14 no key usage', { keyUsage: null }],
  ['X-14 key usage not critical', { keyUsage: { flags: KU.digitalSignature, critical: false } }],
  ['X-16 no digitalSignature', { keyUsage: { flags: KU.keyEncipherment, critical: true } }],
  ['X-16 keyCertSign', { keyUsage: { flags: KU.digitalSignature | KU.keyCertSign, critical: true } }],
  ['X-16 cRLSign', { keyUsage: { flags: KU.digitalSignature | KU.cRLSign, critical: true } }],
  ['X-17 nonRepudiation', { keyUsage: { flags: KU.digitalSignature | KU.nonRepudiation, critical: true } }],
  ['X-17 decipherOnly (a second KeyUsage byte)', { keyUsage: { flags: KU.digitalSignature | KU.decipherOnly, critical: true } }],
  ['X-18 serverAuth only', { extKeyUsage: [EKU_SERVER_AUTH] }],
  ['X-18 clientAuth only', { extKeyUsage: [EKU_CLIENT_AUTH] }],
  ['X-18 codeSigning only', { extKeyUsage: [EKU_CODE_SIGNING] }],
  ['X-18 no EKU', { extKeyUsage: null }],
  ['X-04 empty subject, SAN not critical', { subject: '', sanCritical: false }],
  ['X-04 empty subject, SAN critical', { subject: '', sanCritical: true }],
  ['a duplicated extension', { extraExtensions: [duplicateKeyUsage] }],
];

describe('the X509-SVID facts read with der.ts against the asn1-schema reading', () => {
  for (const [name, overrides, id] of bentLeaves) {
    test(`${name}: the same facts and the same verdict of the leaf check`, async () => {
      const leaf = await issue(leafSpec(id ?? ID, overrides), root);
      let reference: CertificateFacts | undefined;
      try {
        reference = readCertificateFacts(leaf.der);
      } catch {
        assert.throws(() => readCertificateFactsDer(leaf.der), DerError);
      }
      if (reference) assert.deepEqual(comparable(readCertificateFactsDer(leaf.der)), comparable(reference));
      assertSameVerdict(leaf.der, { expectedId: id ?? ID, at: DURING_VALIDITY });
    });
  }

  test('X-07 X-11 X-12 CA certificates: the same facts', async () => {
    for (const overrides of [{}, { basicConstraints: { ca: true, pathLength: 0, critical: true } }, { keyUsage: { flags: KU.keyCertSign | KU.digitalSignature, critical: true } }, { uris: [] }]) {
      const ca = await issue(caSpec('example.org', overrides));
      assert.deepEqual(comparable(readCertificateFactsDer(ca.der)), comparable(readCertificateFacts(ca.der)));
    }
  });

  test('random fast leaves: the same facts, and both checks pass', async () => {
    const keys = await generateKeyPair('ec-p256');
    const ca = await createSelfSignedCaCertificate(keys, { trustDomain: 'example.org', subject: 'O=Sigil', notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('2099-01-01T00:00:00Z') });
    const template = leafIssuerTemplate(certificateDer(ca), keys.privateKey);
    const spki = spkiDerOf(keys.publicKey);
    await fc.assert(
      fc.asyncProperty(workloadSpiffeIdArb, fc.array(dnsNameArb, { maxLength: 3 }), async (spiffeId, dnsNames) => {
        const { der } = await mintX509LeafDer(template, { spiffeId, dnsNames, subjectPublicKeyInfo: spki, notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2030-01-02T00:00:00Z') });
        assert.deepEqual(comparable(readCertificateFactsDer(der)), comparable(readCertificateFacts(der)));
        assert.equal(assertSameVerdict(der, { expectedId: spiffeId, at: DURING_VALIDITY }), 'ok');
      }),
      { seed: 77, numRuns: 100 },
    );
  });

  test('mutated leaves: a DerError or the reference facts; the fast check never passes what the full check refuses', async () => {
    const keys = await generateKeyPair('ec-p256');
    const ca = await createSelfSignedCaCertificate(keys, { trustDomain: 'example.org', subject: 'O=Sigil', notBefore: new Date('2000-01-01T00:00:00Z'), notAfter: new Date('2099-01-01T00:00:00Z') });
    const template = leafIssuerTemplate(certificateDer(ca), keys.privateKey);
    const { der: good } = await mintX509LeafDer(template, { spiffeId: ID, dnsNames: ['a.example.org', 'b.example.org'], subjectPublicKeyInfo: spkiDerOf(keys.publicKey), notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2030-01-02T00:00:00Z') });
    const mutation = fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 });
    let bothRead = 0;
    fc.assert(
      fc.property(mutation, (changes) => {
        const bytes = Uint8Array.from(good);
        for (const c of changes) bytes[c.at] = c.value;
        let fast: CertificateFacts | undefined;
        try {
          fast = readCertificateFactsDer(bytes);
        } catch (err) {
          assert.ok(err instanceof DerError, `not a DerError: ${(err as Error).stack}`);
        }
        let reference: CertificateFacts | undefined;
        try {
          reference = readCertificateFacts(bytes);
        } catch {
          reference = undefined;
        }
        if (fast && reference) {
          bothRead++;
          assert.deepEqual(comparable(fast), comparable(reference));
        }
        if (verdict(() => checkX509SvidLeafDer(bytes, { expectedId: ID, at: DURING_VALIDITY })) === 'ok') {
          assert.equal(verdict(() => checkX509SvidLeaf(bytes, { expectedId: ID, at: DURING_VALIDITY })), 'ok');
        }
      }),
      { seed: 78, numRuns: 5000 },
    );
    assert.ok(bothRead > 1000, `only ${bothRead} mutations were read by both readers: the comparison saw too little`);
  });
});
