import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import fc from 'fast-check';
import { certificateNames } from '../../../src/pki/certificate-der.js';
import { certificateDer, createSelfSignedCaCertificate, type CertificateIssuer } from '../../../src/pki/certificates.js';
import { crlIssuerTemplate, encodeRevokedCertificate, encodeTbsCertList, parseCrl, revokedSerialsOfCrl, signCrl } from '../../../src/pki/crl-der.js';
import { createCrl, revocationReasons, type RevokedSerial } from '../../../src/pki/crl.js';

import { DerError } from '../../../src/pki/der.js';
import { generateKeyPair, keyAlgorithms, type KeyAlgorithm } from '../../../src/pki/keys.js';
import { pemEncode } from '../../../src/pki/pem.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-crl-der-');
after(() => rmSync(dir, { recursive: true, force: true }));

async function newIssuer(algorithm: KeyAlgorithm): Promise<CertificateIssuer> {
  const keys = await generateKeyPair(algorithm);
  const certificate = await createSelfSignedCaCertificate(keys, { trustDomain: 'example.org', subject: 'C=US, O=Sigil', notBefore: new Date('2029-12-01T00:00:00Z'), notAfter: new Date('2031-02-01T00:00:00Z') });
  return { certificate, keys };
}

async function fastCrl(issuer: CertificateIssuer, crlNumber: number, thisUpdate: Date, nextUpdate: Date, revoked: readonly RevokedSerial[]): Promise<Uint8Array> {
  const template = await crlIssuerTemplate(issuer);
  const revokedCertificatesDer = Buffer.concat(revoked.map(encodeRevokedCertificate));
  return signCrl(template, encodeTbsCertList(template, { crlNumber, thisUpdate, nextUpdate, revokedCertificatesDer }), issuer.keys.privateKey);
}

const serialArb = fc.uint8Array({ minLength: 1, maxLength: 20 }).map((b) => {
  const hex = Buffer.from(b).toString('hex').replace(/^(00)+(?=[0-9a-f])/, '');
  return hex === '' ? '00' : hex;
});
// Whole seconds, across the UTCTime/GeneralizedTime boundary of 2050 (RFC 5280 §4.1.2.5).
const dateArb = fc.integer({ min: Date.UTC(1990, 0, 1) / 1000, max: Date.UTC(2080, 0, 1) / 1000 }).map((s) => new Date(s * 1000));
const entryArb = fc.record({ serialHex: serialArb, revokedAt: dateArb, reason: fc.constantFrom(...revocationReasons) });
// @peculiar/x509 writes an empty crlEntryExtensions SEQUENCE for an entry without a reason, which
// RFC 5280's SIZE (1..MAX) forbids; the fast path omits the field. The byte comparison uses reasons.
const entryWithReasonArb = fc.record({ serialHex: serialArb, revokedAt: dateArb, reason: fc.constantFrom(...revocationReasons.filter((r) => r !== 'unspecified')) });

describe('CRLs in direct DER (the fast path) against @peculiar/x509 (the reference)', () => {
  for (const algorithm of keyAlgorithms) {
    test(`${algorithm}: the TBSCertList is byte for byte the reference's, for random entries, numbers and dates`, async () => {
      const issuer = await newIssuer(algorithm);
      const template = await crlIssuerTemplate(issuer);
      await fc.assert(
        fc.asyncProperty(fc.array(entryWithReasonArb, { maxLength: 8 }), fc.integer({ min: 1, max: 2 ** 40 }), dateArb, dateArb, async (revoked, crlNumber, thisUpdate, nextUpdate) => {
          const reference = parseCrl(await createCrl({ issuer, crlNumber, thisUpdate, nextUpdate, revoked }));
          const tbs = encodeTbsCertList(template, { crlNumber, thisUpdate, nextUpdate, revokedCertificatesDer: Buffer.concat(revoked.map(encodeRevokedCertificate)) });
          assert.equal(Buffer.from(tbs).toString('hex'), Buffer.from(reference.tbsDer).toString('hex'));
        }),
        { seed: 20261202, numRuns: algorithm.startsWith('rsa') ? 15 : 40 },
      );
    });
  }

  test('an entry revoked for an unspecified reason has no crlEntryExtensions field (RFC 5280: SIZE (1..MAX))', async () => {
    const issuer = await newIssuer('ec-p256');
    const entry = encodeRevokedCertificate({ serialHex: '01', revokedAt: new Date('2030-01-01T00:00:00Z'), reason: 'unspecified' });
    assert.equal(entry.toString('hex'), '3012020101170d3330303130313030303030305a');
    const parsed = parseCrl(await fastCrl(issuer, 1, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-02T00:00:00Z'), [{ serialHex: '01', revokedAt: new Date('2030-01-01T00:00:00Z'), reason: 'unspecified' }]));
    assert.deepEqual(parsed.revoked, [{ serialHex: '01', revokedAt: Date.UTC(2030, 0, 1), reason: 'unspecified' }]);
  });

  test('openssl verifies the signature of a fast CRL and lists its entries with reasons', async () => {
    const issuer = await newIssuer('ec-p256');
    const revoked: RevokedSerial[] = [
      { serialHex: '0a1b2c3d4e5f60718293a4b5c6d7e8f9', revokedAt: new Date('2030-01-01T00:00:00Z'), reason: 'keyCompromise' },
      { serialHex: 'ff00', revokedAt: new Date('2030-01-01T00:00:01Z'), reason: 'unspecified' },
    ];
    const der = await fastCrl(issuer, 7, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-02T00:00:00Z'), revoked);
    const crlPath = join(dir, 'fast.der');
    const caPath = join(dir, 'fast-ca.pem');
    writeFileSync(crlPath, der);
    writeFileSync(caPath, pemEncode('CERTIFICATE', certificateDer(issuer.certificate)));
    const out = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', crlPath, '-CAfile', caPath, '-noout', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.match(out, /X509v3 CRL Number: \n\s+7\n/);
    assert.match(out, /Serial Number: 0A1B2C3D4E5F60718293A4B5C6D7E8F9\n\s+Revocation Date: Jan {2}1 00:00:00 2030 GMT\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: \n\s+Key Compromise/);
    assert.match(out, /Serial Number: FF00\n/);
    assert.ok(Buffer.from(der).includes(Buffer.from('020300ff00', 'hex')), 'a serial with the top bit set gets a leading zero byte (a positive INTEGER)');
    const verify = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', crlPath, '-CAfile', caPath, '-noout'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(verify, '');
  });
});

describe('parseCrl', () => {
  test('reads back what was encoded: serials, dates, reasons, CRL Number, issuer and times', async () => {
    const issuer = await newIssuer('ec-p384');
    await fc.assert(
      fc.asyncProperty(fc.array(entryArb, { maxLength: 20 }), fc.integer({ min: 1, max: 2 ** 40 }), async (revoked, crlNumber) => {
        const der = await fastCrl(issuer, crlNumber, new Date('2030-01-01T00:00:00Z'), new Date('2060-01-01T00:00:00Z'), revoked);
        const parsed = parseCrl(der);
        assert.deepEqual(
          parsed.revoked,
          revoked.map((r) => ({ serialHex: r.serialHex.replace(/^(00)+(?=[0-9a-f])/, ''), revokedAt: r.revokedAt.getTime(), reason: r.reason })),
        );
        assert.equal(BigInt(`0x${parsed.crlNumberHex}`), BigInt(crlNumber));
        assert.equal(parsed.thisUpdate, Date.UTC(2030, 0, 1));
        assert.equal(parsed.nextUpdate, Date.UTC(2060, 0, 1));
        assert.equal(Buffer.from(parsed.issuerNameDer).toString('hex'), Buffer.from(certificateNames(certificateDer(issuer.certificate)).subjectNameDer).toString('hex'));
      }),
      { seed: 7, numRuns: 30 },
    );
  });

  test('has no entry limit: 100,000 revoked serials with reason codes parse (asn1-schema stopped at ~1,245)', async () => {
    const issuer = await newIssuer('ec-p256');
    const revoked: RevokedSerial[] = Array.from({ length: 100_000 }, (_, i) => ({
      serialHex: `7f${i.toString(16).padStart(30, '0')}`,
      revokedAt: new Date(Date.UTC(2030, 0, 1) + i * 1000),
      reason: i % 2 ? 'keyCompromise' : 'superseded',
    }));
    const der = await fastCrl(issuer, 1, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-02T00:00:00Z'), revoked);
    const serials = revokedSerialsOfCrl(der);
    assert.equal(serials.length, 100_000);
    assert.equal(serials[99_999], `7f${(99_999).toString(16).padStart(30, '0')}`);
  });

  test('mutated and random bytes: a DerError (or a clean parse), never another exception or a hang', async () => {
    const issuer = await newIssuer('ec-p256');
    const good = await fastCrl(issuer, 3, new Date('2030-01-01T00:00:00Z'), new Date('2030-01-02T00:00:00Z'), [
      { serialHex: '01', revokedAt: new Date('2030-01-01T00:00:00Z'), reason: 'keyCompromise' },
      { serialHex: '02', revokedAt: new Date('2030-01-01T00:00:00Z'), reason: 'unspecified' },
    ]);
    const mutation = fc.array(fc.record({ at: fc.nat({ max: good.length - 1 }), value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 6 });
    fc.assert(
      fc.property(mutation, fc.nat({ max: good.length }), (changes, cut) => {
        const bytes = Uint8Array.from(good.subarray(0, Math.max(1, cut === 0 ? good.length : cut)));
        for (const c of changes) if (c.at < bytes.length) bytes[c.at] = c.value;
        try {
          parseCrl(bytes);
        } catch (err) {
          assert.ok(err instanceof DerError, `not a DerError: ${(err as Error).stack}`);
        }
      }),
      { seed: 99, numRuns: 3000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        assert.throws(() => parseCrl(bytes), DerError);
      }),
      { seed: 100, numRuns: 1000 },
    );
  });

  test('refuses indefinite lengths and trailing bytes, naming the offset', () => {
    assert.throws(() => parseCrl(Uint8Array.from([0x30, 0x80, 0, 0])), /indefinite length is not DER at byte 0/);
    assert.throws(() => parseCrl(Uint8Array.from([0x30, 0x00, 0x00])), /trailing bytes after the CRL at byte 2/);
  });
});
