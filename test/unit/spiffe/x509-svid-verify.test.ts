import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { verifyX509SvidChain } from '../../../src/spiffe/x509-svid-verify.js';
import { DURING_VALIDITY, KU, NOT_AFTER, caSpec, issue, leafSpec, type Issued } from '../../helpers/spiffe-certs.js';

let root: Issued;
let intermediate: Issued;
let otherRoot: Issued;

before(async () => {
  root = await issue(caSpec());
  intermediate = await issue(caSpec(), root);
  otherRoot = await issue(caSpec());
});

test('X-20: a leaf under the root, directly or through an intermediate, verifies and yields its SPIFFE ID', async () => {
  const leaf = await issue(leafSpec('spiffe://example.org/web'), root);
  assert.equal(verifyX509SvidChain([leaf.der], [root.der], DURING_VALIDITY, 'example.org').toString(), 'spiffe://example.org/web');
  const deep = await issue(leafSpec('spiffe://example.org/deep'), intermediate);
  assert.equal(verifyX509SvidChain([deep.der, intermediate.der], [root.der], DURING_VALIDITY, 'example.org').toString(), 'spiffe://example.org/deep');
});

test('X-22: roots of another authority do not verify the chain', async () => {
  const leaf = await issue(leafSpec(), root);
  assert.throws(() => verifyX509SvidChain([leaf.der], [otherRoot.der], DURING_VALIDITY, 'example.org'), /certificate signed by unknown authority/);
  assert.throws(() => verifyX509SvidChain([leaf.der], [root.der], DURING_VALIDITY, 'other.org'), /is not in trust domain other\.org/);
});

test('X-21: leaves with the CA flag, keyCertSign or cRLSign are refused with go-spiffe\'s texts', async () => {
  const ca = await issue(leafSpec('spiffe://example.org/x', { basicConstraints: { ca: true, critical: true } }), root);
  assert.throws(() => verifyX509SvidChain([ca.der], [root.der], DURING_VALIDITY, 'example.org'), /leaf certificate with CA flag set to true/);
  const certSign = await issue(leafSpec('spiffe://example.org/x', { keyUsage: { flags: KU.digitalSignature | KU.keyCertSign, critical: true } }), root);
  assert.throws(() => verifyX509SvidChain([certSign.der], [root.der], DURING_VALIDITY, 'example.org'), /leaf certificate with KeyCertSign key usage/);
  const crlSign = await issue(leafSpec('spiffe://example.org/x', { keyUsage: { flags: KU.digitalSignature | KU.cRLSign, critical: true } }), root);
  assert.throws(() => verifyX509SvidChain([crlSign.der], [root.der], DURING_VALIDITY, 'example.org'), /leaf certificate with KeyCrlSign key usage/);
});

test('an intermediate without keyCertSign does not verify', async () => {
  const weak = await issue(caSpec('example.org', { keyUsage: { flags: KU.cRLSign, critical: true } }), root);
  const leaf = await issue(leafSpec(), weak);
  assert.throws(() => verifyX509SvidChain([leaf.der, weak.der], [root.der], DURING_VALIDITY, 'example.org'), /an intermediate is not a CA with keyCertSign/);
});

test('expired and not-yet-valid chains are refused; an empty chain too', async () => {
  const leaf = await issue(leafSpec(), root);
  assert.throws(() => verifyX509SvidChain([leaf.der], [root.der], new Date(NOT_AFTER.getTime() + 1000), 'example.org'), /expired or not yet valid/);
  assert.throws(() => verifyX509SvidChain([leaf.der], [root.der], new Date('2020-01-01T00:00:00Z'), 'example.org'), /expired or not yet valid/);
  assert.throws(() => verifyX509SvidChain([], [root.der], DURING_VALIDITY, 'example.org'), /no client certificate|empty/);
});
