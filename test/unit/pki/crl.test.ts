import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { certificateDer, createSelfSignedCaCertificate, type CertificateIssuer } from '../../../src/pki/certificates.js';
import { createCrl, crlNumberOf, crlPem, parseCrlDer, revocationReasons, type RevokedSerial } from '../../../src/pki/crl.js';
import { generateKeyPair, type KeyAlgorithm } from '../../../src/pki/keys.js';
import { pemEncode } from '../../../src/pki/pem.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-crl-');
after(() => rmSync(dir, { recursive: true, force: true }));

const thisUpdate = new Date('2030-01-01T00:00:00Z');
const nextUpdate = new Date('2030-01-02T00:00:00Z');

async function newIssuer(algorithm: KeyAlgorithm = 'ec-p256'): Promise<CertificateIssuer> {
  const keys = await generateKeyPair(algorithm);
  const certificate = await createSelfSignedCaCertificate(keys, { trustDomain: 'example.org', subject: 'C=US, O=Sigil', notBefore: new Date('2029-12-01T00:00:00Z'), notAfter: new Date('2030-02-01T00:00:00Z') });
  return { certificate, keys };
}

function openssl(args: string[]): string {
  return execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `openssl crl -text` of a DER CRL. */
function crlText(der: Uint8Array, name: string): string {
  const path = join(dir, `${name}.der`);
  writeFileSync(path, der);
  return openssl(['crl', '-inform', 'DER', '-in', path, '-noout', '-text']);
}

let issuer: CertificateIssuer;
before(async () => {
  issuer = await newIssuer();
});

test('an X.509 v2 CRL with CRL Number, AKI = the CA SKI, thisUpdate/nextUpdate and the revoked serials with reason codes, as openssl reads it', async () => {
  const revoked: RevokedSerial[] = [
    { serialHex: '0a1b2c3d4e5f60718293a4b5c6d7e8f9', revokedAt: new Date('2030-01-01T00:00:00Z'), reason: 'keyCompromise' },
    { serialHex: '7f00000000000000000000000000abcd', revokedAt: new Date('2030-01-01T00:00:00Z'), reason: 'superseded' },
  ];
  const der = await createCrl({ issuer, crlNumber: 42, thisUpdate, nextUpdate, revoked });
  const text = crlText(der, 'structure');
  assert.match(text, /Version 2 \(0x1\)/);
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/);
  assert.match(text, /Last Update: Jan {2}1 00:00:00 2030 GMT/);
  assert.match(text, /Next Update: Jan {2}2 00:00:00 2030 GMT/);
  assert.match(text, /X509v3 CRL Number: \n\s+42\n/);
  const caPath = join(dir, 'structure-ca.pem');
  writeFileSync(caPath, pemEncode('CERTIFICATE', certificateDer(issuer.certificate)));
  const ski = /X509v3 Subject Key Identifier: \n\s+([0-9A-F:]+)\n/.exec(openssl(['x509', '-in', caPath, '-noout', '-text']))?.[1];
  assert.ok(ski, 'the CA has an SKI');
  assert.match(text, new RegExp(`X509v3 Authority Key Identifier: \\n\\s+(keyid:)?${ski}\\n`));
  assert.match(text, /Serial Number: 0A1B2C3D4E5F60718293A4B5C6D7E8F9\n\s+Revocation Date: Jan {2}1 00:00:00 2030 GMT\n\s+CRL entry extensions:\n\s+X509v3 CRL Reason Code: \n\s+Key Compromise/);
  assert.match(text, /Serial Number: 7F00000000000000000000000000ABCD\n[\s\S]*?Superseded/);
});

test('PEM uses the "X509 CRL" label, which openssl accepts, and the signature verifies against the CA', async () => {
  const pem = crlPem(await createCrl({ issuer, crlNumber: 1, thisUpdate, nextUpdate, revoked: [] }));
  assert.match(pem, /^-----BEGIN X509 CRL-----\n[\s\S]+-----END X509 CRL-----\n$/);
  const crlPath = join(dir, 'label.pem');
  const caPath = join(dir, 'label-ca.pem');
  writeFileSync(crlPath, pem);
  writeFileSync(caPath, pemEncode('CERTIFICATE', certificateDer(issuer.certificate)));
  const verify = spawnSync('openssl', ['crl', '-in', crlPath, '-CAfile', caPath, '-noout'], { encoding: 'utf8' });
  assert.equal(verify.status, 0, verify.stderr);
  assert.match(verify.stderr, /verify OK/);
  const otherCaPath = join(dir, 'label-other-ca.pem');
  writeFileSync(otherCaPath, pemEncode('CERTIFICATE', certificateDer((await newIssuer()).certificate)));
  const wrongCa = spawnSync('openssl', ['crl', '-in', crlPath, '-CAfile', otherCaPath, '-noout'], { encoding: 'utf8' });
  assert.notEqual(wrongCa.status, 0);
  assert.doesNotMatch(wrongCa.stderr, /verify OK/);
});

test('an empty CRL lists no certificates', async () => {
  const text = crlText(await createCrl({ issuer, crlNumber: 1, thisUpdate, nextUpdate, revoked: [] }), 'empty');
  assert.match(text, /No Revoked Certificates\./);
});

test('CRL Numbers at DER integer boundaries encode as positive integers and parse back', async () => {
  for (const n of [1, 127, 128, 255, 256, 32_768, 2 ** 40]) {
    const der = await createCrl({ issuer, crlNumber: n, thisUpdate, nextUpdate, revoked: [] });
    assert.match(crlText(der, `number-${n}`), new RegExp(`X509v3 CRL Number: \\n\\s+${n}\\n`), `openssl reads ${n}`);
    assert.equal(crlNumberOf(parseCrlDer(der)), n);
  }
});

test('a CRL Number below 1 or not an integer is refused', async () => {
  await assert.rejects(createCrl({ issuer, crlNumber: 0, thisUpdate, nextUpdate, revoked: [] }), /CRL Number must be a positive integer/);
  await assert.rejects(createCrl({ issuer, crlNumber: 1.5, thisUpdate, nextUpdate, revoked: [] }), /CRL Number must be a positive integer/);
});

test('every reason is written as its RFC 5280 code; "unspecified" leaves the reason code out (RFC 5280 §5.3.1)', async () => {
  const opensslNames: Record<string, string> = {
    keyCompromise: 'Key Compromise',
    cACompromise: 'CA Compromise',
    affiliationChanged: 'Affiliation Changed',
    superseded: 'Superseded',
    cessationOfOperation: 'Cessation Of Operation',
    privilegeWithdrawn: 'Privilege Withdrawn',
  };
  const revoked = revocationReasons.map((reason, i) => ({ serialHex: `1${i}`.padEnd(32, '0'), revokedAt: thisUpdate, reason }));
  const der = await createCrl({ issuer, crlNumber: 1, thisUpdate, nextUpdate, revoked });
  const text = crlText(der, 'reasons');
  for (const [reason, name] of Object.entries(opensslNames)) assert.match(text, new RegExp(`X509v3 CRL Reason Code: \\n\\s+${name}\\n`), reason);
  assert.equal(text.match(/CRL Reason Code/g)?.length, revocationReasons.length - 1, 'no reason code for unspecified');
  const parsed = parseCrlDer(der);
  assert.equal(parsed.entries.find((e) => e.serialNumber.toLowerCase() === '10'.padEnd(32, '0'))?.reason, undefined);
  assert.equal(parsed.entries.find((e) => e.serialNumber.toLowerCase() === '11'.padEnd(32, '0'))?.reason, 1);
});

test('an RSA authority signs its CRL with sha256WithRSAEncryption', async () => {
  const rsa = await newIssuer('rsa-2048');
  const text = crlText(await createCrl({ issuer: rsa, crlNumber: 3, thisUpdate, nextUpdate, revoked: [] }), 'rsa');
  assert.match(text, /Signature Algorithm: sha256WithRSAEncryption/);
});
