import 'reflect-metadata';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SvidProfileError,
  checkSigningCertificate,
  checkX509SvidChain,
  checkX509SvidLeaf,
  spiffeIdOfCertificate,
} from '../../../src/spiffe/index.js';
import {
  DURING_VALIDITY,
  EKU_CLIENT_AUTH,
  EKU_CODE_SIGNING,
  EKU_SERVER_AUTH,
  KU,
  NOT_AFTER,
  NOT_BEFORE,
  caSpec,
  generateKeys,
  issue,
  leafSpec,
  pkcs8Of,
  type CertSpec,
  type Issued,
} from '../../helpers/spiffe-certs.js';
import * as x509 from '@peculiar/x509';

const ID = 'spiffe://example.org/workload';
const root = await issue(caSpec());

const leafWith = (overrides: Partial<CertSpec>, id = ID): Promise<Issued> => issue(leafSpec(id, overrides), root);
const caWith = (overrides: Partial<CertSpec>, trustDomain = 'example.org'): Promise<Issued> =>
  issue(caSpec(trustDomain, overrides));

function rejects(check: () => void, message: string): void {
  assert.throws(check, (err: unknown) => {
    assert.ok(err instanceof SvidProfileError, `expected SvidProfileError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

// ---------------------------------------------------------------- leaf

test('X-01 X-05 X-18 a SPIRE-shaped leaf passes every leaf check', async () => {
  const leaf = await leafWith({});
  checkX509SvidLeaf(leaf.der, { expectedId: ID, at: DURING_VALIDITY });
  checkX509SvidLeaf(leaf.der.buffer.slice(0) as ArrayBuffer);
  assert.equal(spiffeIdOfCertificate(leaf.der).toString(), ID);
});

test('X-01 rejects a leaf without a URI SAN', async () => {
  const leaf = await leafWith({ uris: [], dnsNames: ['web.example.org'] });
  rejects(() => checkX509SvidLeaf(leaf.der), 'cannot get leaf certificate SPIFFE ID: certificate contains no URI SAN');
  rejects(() => spiffeIdOfCertificate(leaf.der), 'certificate contains no URI SAN');
});

test('X-02 rejects a leaf with two URI SANs', async () => {
  const leaf = await leafWith({ uris: [ID, 'spiffe://example.org/other'] });
  rejects(
    () => checkX509SvidLeaf(leaf.der),
    'cannot get leaf certificate SPIFFE ID: certificate contains more than one URI SAN',
  );
  rejects(() => spiffeIdOfCertificate(leaf.der), 'certificate contains more than one URI SAN');
});

test('X-03 accepts DNS SANs beside the one URI SAN', async () => {
  const leaf = await leafWith({ dnsNames: ['web.example.org', 'web'] });
  checkX509SvidLeaf(leaf.der, { expectedId: ID });
});

test('X-21 rejects a leaf whose URI SAN is not a SPIFFE ID', async () => {
  const leaf = await leafWith({ uris: ['https://example.org/workload'] });
  rejects(() => checkX509SvidLeaf(leaf.der), 'cannot get leaf certificate SPIFFE ID: scheme is missing or invalid');
});

test('X-05 rejects a leaf with the root path', async () => {
  const leaf = await leafWith({}, 'spiffe://example.org');
  rejects(() => checkX509SvidLeaf(leaf.der), 'leaf certificate SPIFFE ID must have a non-root path');
});

test('X-01 rejects a leaf for another SPIFFE ID than expected', async () => {
  const leaf = await leafWith({});
  rejects(
    () => checkX509SvidLeaf(leaf.der, { expectedId: 'spiffe://example.org/other' }),
    'expected URI SAN "spiffe://example.org/other" but got "spiffe://example.org/workload"',
  );
});

test('X-11 rejects a leaf without basic constraints (SPIRE)', async () => {
  const leaf = await leafWith({ basicConstraints: null });
  rejects(() => checkX509SvidLeaf(leaf.der), 'leaf certificate must have the basic constraints extension');
});

test('X-11 rejects a leaf with the CA flag', async () => {
  const leaf = await leafWith({ basicConstraints: { ca: true, critical: true } });
  rejects(() => checkX509SvidLeaf(leaf.der), 'leaf certificate must not have CA flag set to true');
});

test('X-14 rejects a leaf without key usage', async () => {
  const leaf = await leafWith({ keyUsage: null });
  rejects(() => checkX509SvidLeaf(leaf.der), 'leaf certificate must have the key usage extension');
});

test('X-14 rejects a leaf whose key usage is not critical', async () => {
  const leaf = await leafWith({ keyUsage: { flags: KU.digitalSignature, critical: false } });
  rejects(() => checkX509SvidLeaf(leaf.der), 'leaf certificate key usage extension must be critical');
});

test('X-16 rejects a leaf without digitalSignature', async () => {
  const leaf = await leafWith({ keyUsage: { flags: KU.keyEncipherment, critical: true } });
  rejects(() => checkX509SvidLeaf(leaf.der), "leaf certificate must have 'digitalSignature' set as key usage");
});

test('X-16 X-21 rejects a leaf with keyCertSign', async () => {
  const leaf = await leafWith({ keyUsage: { flags: KU.digitalSignature | KU.keyCertSign, critical: true } });
  rejects(() => checkX509SvidLeaf(leaf.der), "leaf certificate must not have 'keyCertSign' set as key usage");
});

test('X-16 X-21 rejects a leaf with cRLSign', async () => {
  const leaf = await leafWith({ keyUsage: { flags: KU.digitalSignature | KU.cRLSign, critical: true } });
  rejects(() => checkX509SvidLeaf(leaf.der), "leaf certificate must not have 'cRLSign' set as key usage");
});

test('X-17 rejects leaf key usages outside the App. A table (SPIRE)', async () => {
  const leaf = await leafWith({ keyUsage: { flags: KU.digitalSignature | KU.nonRepudiation, critical: true } });
  rejects(() => checkX509SvidLeaf(leaf.der), 'only digitalSignature, keyEncipherment, and keyAgreement key usage can be set');
});

test('X-16 accepts digitalSignature alone on a leaf', async () => {
  const leaf = await leafWith({ keyUsage: { flags: KU.digitalSignature, critical: true } });
  checkX509SvidLeaf(leaf.der);
});

test('X-18 rejects a leaf EKU without clientAuth', async () => {
  const leaf = await leafWith({ extKeyUsage: [EKU_SERVER_AUTH] });
  rejects(() => checkX509SvidLeaf(leaf.der), 'missing clientAuth extended key usage');
});

test('X-18 rejects a leaf EKU without serverAuth', async () => {
  const leaf = await leafWith({ extKeyUsage: [EKU_CLIENT_AUTH] });
  rejects(() => checkX509SvidLeaf(leaf.der), 'missing serverAuth extended key usage');
});

test('X-18 rejects a leaf EKU with neither TLS purpose', async () => {
  const leaf = await leafWith({ extKeyUsage: [EKU_CODE_SIGNING] });
  rejects(() => checkX509SvidLeaf(leaf.der), 'missing both serverAuth and clientAuth extended key usage');
});

test('X-18 accepts a leaf without EKU', async () => {
  const leaf = await leafWith({ extKeyUsage: null });
  checkX509SvidLeaf(leaf.der);
});

test('X-04 rejects an empty subject with a non-critical SAN', async () => {
  const leaf = await leafWith({ subject: '', sanCritical: false });
  rejects(() => checkX509SvidLeaf(leaf.der), 'subject is empty, so the subject alternative name extension must be critical');
});

test('X-04 accepts an empty subject with a critical SAN', async () => {
  const leaf = await leafWith({ subject: '', sanCritical: true });
  checkX509SvidLeaf(leaf.der, { expectedId: ID });
});

test('§2.4 rejects a leaf that is expired at `at`', async () => {
  const leaf = await leafWith({});
  rejects(
    () => checkX509SvidLeaf(leaf.der, { at: new Date(NOT_AFTER.getTime() + 1000) }),
    'leaf certificate already expired as of 2030-01-02T00:00:00Z',
  );
  checkX509SvidLeaf(leaf.der, { at: NOT_AFTER }); // notAfter itself is still valid (RFC 5280)
});

test('§2.4 rejects a leaf that is not yet valid at `at`', async () => {
  const leaf = await leafWith({});
  rejects(
    () => checkX509SvidLeaf(leaf.der, { at: new Date(NOT_BEFORE.getTime() - 1000) }),
    'leaf certificate not yet valid until 2030-01-01T00:00:00Z',
  );
  checkX509SvidLeaf(leaf.der, { at: NOT_BEFORE });
});

test('§2.2 rejects bytes that are not one DER certificate', async () => {
  const leaf = await leafWith({});
  const prefix = 'cannot parse DER encoded certificate: ';
  assert.throws(() => checkX509SvidLeaf(new Uint8Array([1, 2, 3])), (err: Error) => err.message.startsWith(prefix));
  rejects(
    () => checkX509SvidLeaf(new Uint8Array([...leaf.der, 0])),
    `${prefix}trailing data after the certificate`,
  );
  rejects(() => checkX509SvidLeaf(leaf.der.subarray(0, leaf.der.length - 1)), `${prefix}truncated certificate`);
  const pemBytes = new TextEncoder().encode(leaf.cert.toString('pem'));
  assert.throws(() => checkX509SvidLeaf(pemBytes), (err: Error) => err.message.startsWith(prefix));
});

test('X-02 rejects a second SAN extension that could hide a second URI', async () => {
  const extra = new x509.SubjectAlternativeNameExtension([{ type: 'url', value: 'spiffe://example.org/admin' }]);
  const leaf = await leafWith({ extraExtensions: [extra] });
  rejects(() => checkX509SvidLeaf(leaf.der), 'cannot parse DER encoded certificate: certificate contains duplicate extensions');
});

// ---------------------------------------------------------------- signing certificates

test('X-07 X-08 X-15 a SPIRE-shaped CA passes every signing check', async () => {
  checkSigningCertificate(root.der, { trustDomain: 'example.org', at: DURING_VALIDITY });
});

test('X-07 X-11 rejects a CA without the CA flag', async () => {
  const ca = await caWith({ basicConstraints: { ca: false, critical: true } });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate must have CA flag set to true');
});

test('X-11 rejects a CA without basic constraints', async () => {
  const ca = await caWith({ basicConstraints: null });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate must have the basic constraints extension');
});

test('X-11 rejects a CA whose basic constraints are not critical (RFC 5280)', async () => {
  const ca = await caWith({ basicConstraints: { ca: true, critical: false } });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate basic constraints extension must be critical');
});

test('X-12 accepts a CA with a path length constraint', async () => {
  const ca = await caWith({ basicConstraints: { ca: true, pathLength: 0, critical: true } });
  checkSigningCertificate(ca.der, { trustDomain: 'example.org' });
});

test('X-14 rejects a CA without key usage', async () => {
  const ca = await caWith({ keyUsage: null });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate must have the key usage extension');
});

test('X-14 rejects a CA whose key usage is not critical', async () => {
  const ca = await caWith({ keyUsage: { flags: KU.keyCertSign, critical: false } });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate key usage extension must be critical');
});

test('X-15 rejects a CA without keyCertSign', async () => {
  const ca = await caWith({ keyUsage: { flags: KU.cRLSign, critical: true } });
  rejects(() => checkSigningCertificate(ca.der), "signing certificate must have 'keyCertSign' set as key usage");
});

test('X-15 accepts keyCertSign without cRLSign', async () => {
  const ca = await caWith({ keyUsage: { flags: KU.keyCertSign, critical: true } });
  checkSigningCertificate(ca.der);
});

test('X-17 rejects a CA with digitalSignature (strict App. A)', async () => {
  const ca = await caWith({ keyUsage: { flags: KU.keyCertSign | KU.digitalSignature, critical: true } });
  rejects(() => checkSigningCertificate(ca.der), "signing certificate must not have 'digitalSignature' set as key usage");
});

test('X-17 rejects a CA with keyEncipherment', async () => {
  const ca = await caWith({ keyUsage: { flags: KU.keyCertSign | KU.keyEncipherment, critical: true } });
  rejects(() => checkSigningCertificate(ca.der), 'only keyCertSign and cRLSign key usage can be set on a signing certificate');
});

test('X-08 rejects a CA SPIFFE ID with a path', async () => {
  const ca = await caWith({ uris: ['spiffe://example.org/ca'] });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate SPIFFE ID must not have a path');
});

test('X-08 rejects the App. A trailing-slash CA ID, as go-spiffe would', async () => {
  const ca = await caWith({ uris: ['spiffe://example.org/'] });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate SPIFFE ID is invalid: path cannot have a trailing slash');
});

test('X-08 rejects a CA of another trust domain when one is expected (SPIRE)', async () => {
  const ca = await caWith({}, 'other.org');
  rejects(
    () => checkSigningCertificate(ca.der, { trustDomain: 'example.org' }),
    'expected URI SAN "spiffe://example.org" but got "spiffe://other.org"',
  );
  checkSigningCertificate(ca.der);
});

test('X-08 rejects a CA with two URI SANs', async () => {
  const ca = await caWith({ uris: ['spiffe://example.org', 'spiffe://other.org'] });
  rejects(() => checkSigningCertificate(ca.der), 'signing certificate contains more than one URI SAN');
});

test('X-08 accepts a CA without a URI SAN (SHOULD, not MUST)', async () => {
  const ca = await caWith({ uris: [] });
  checkSigningCertificate(ca.der, { trustDomain: 'example.org' });
});

test('X-04 applies to CAs too', async () => {
  const ca = await caWith({ subject: '', sanCritical: false });
  rejects(() => checkSigningCertificate(ca.der), 'subject is empty, so the subject alternative name extension must be critical');
});

test('§2.4 rejects a CA that is expired at `at`', async () => {
  rejects(
    () => checkSigningCertificate(root.der, { at: new Date('2031-01-01T00:00:00Z') }),
    'signing certificate already expired as of 2030-01-02T00:00:00Z',
  );
});

test('X-10 a signing certificate does not pass as a leaf, nor a leaf as a CA', async () => {
  const leaf = await leafWith({});
  rejects(() => checkX509SvidLeaf(root.der), 'leaf certificate SPIFFE ID must have a non-root path');
  rejects(() => checkSigningCertificate(leaf.der), 'signing certificate must have CA flag set to true');
});

// ---------------------------------------------------------------- chains

async function intermediateChain(intermediateTrustDomain = 'example.org') {
  const intermediate = await issue(caSpec(intermediateTrustDomain), root);
  const leaf = await issue(leafSpec(ID), intermediate);
  return { intermediate, leaf };
}

test('§2.5 a leaf + intermediate chain passes, with the matching private key', async () => {
  const { intermediate, leaf } = await intermediateChain();
  checkX509SvidChain([leaf.der, intermediate.der], {
    expectedId: ID,
    at: DURING_VALIDITY,
    privateKeyPkcs8: await pkcs8Of(leaf.keys),
  });
  checkX509SvidChain([leaf.der]);
});

test('X-09 intermediates may belong to another trust domain', async () => {
  const { intermediate, leaf } = await intermediateChain('upstream.example');
  checkX509SvidChain([leaf.der, intermediate.der]);
});

test('§2.2 rejects an empty chain', () => {
  rejects(() => checkX509SvidChain([]), 'no certificates found');
});

test('§2.2 rejects a chain whose second certificate is not a CA', async () => {
  const leaf = await leafWith({});
  const other = await leafWith({});
  rejects(
    () => checkX509SvidChain([leaf.der, other.der]),
    'certificate 1 of the chain: signing certificate must have CA flag set to true',
  );
});

test('X-20 rejects a chain whose leaf was not signed by the next certificate', async () => {
  const { leaf } = await intermediateChain();
  const stranger = await issue(caSpec(), root);
  rejects(() => checkX509SvidChain([leaf.der, stranger.der]), 'certificate 0 of the chain is not signed by certificate 1');
});

test('§2.2 rejects a private key that does not match the leaf', async () => {
  const leaf = await leafWith({});
  const otherKey = await pkcs8Of(await generateKeys());
  rejects(
    () => checkX509SvidChain([leaf.der], { privateKeyPkcs8: otherKey }),
    'private key validation failed: leaf certificate does not match private key',
  );
  assert.throws(
    () => checkX509SvidChain([leaf.der], { privateKeyPkcs8: new Uint8Array([1, 2, 3]) }),
    (err: Error) => err instanceof SvidProfileError && err.message.startsWith('cannot parse DER encoded private key: '),
  );
});

test('§2.2 reports which chain certificate does not parse', async () => {
  const leaf = await leafWith({});
  assert.throws(
    () => checkX509SvidChain([leaf.der, new Uint8Array([0x30, 0x00])]),
    (err: Error) => err.message.startsWith('certificate 1 of the chain: cannot parse DER encoded certificate: '),
  );
});
