import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { RevocationList } from '../../../src/workload/mtls/revocation-list.js';
import type { X509Svid } from '../../../src/workload/x509-response.js';
import { createTestCa, type TestCa } from '../../helpers/fake-workload-api.js';
import { crlOf, testSvid } from './mtls-fixtures.js';

describe('mtls: the revocation list built from Workload API CRLs', () => {
  let ca: TestCa;
  let otherCa: TestCa;
  let revoked: X509Svid;
  let valid: X509Svid;
  let ofOtherCa: X509Svid;

  before(async () => {
    ca = await createTestCa('example.org');
    otherCa = await createTestCa('example.org');
    revoked = await testSvid(ca, '/demo/client');
    valid = await testSvid(ca, '/demo/web');
    ofOtherCa = await testSvid(otherCa, '/demo/client');
  });

  const leaf = (svid: X509Svid) => svid.chainDer[0]!;

  it('finds a listed certificate, with its serial, date and reason, and no other', async () => {
    const list = RevocationList.fromCrls([await crlOf(ca, [revoked.serial])], [ca.der]);
    const revocation = list.revocationOf(leaf(revoked));
    assert.equal(revocation?.serial, revoked.serial.replace(/^(00)+/, ''));
    assert.equal(revocation?.reason, 'keyCompromise');
    assert.ok(revocation && Math.abs(revocation.revokedAt.getTime() - Date.now()) < 60_000);
    assert.equal(list.isRevoked(leaf(valid)), false);
    assert.equal(list.size, 1);
    assert.deepEqual(list.problems, []);
    assert.equal(list.crlCount, 1);
  });

  it('a serial is revoked only under the issuer whose CRL lists it', async () => {
    const list = RevocationList.fromCrls([await crlOf(ca, [ofOtherCa.serial])], [ca.der, otherCa.der]);
    assert.equal(list.isRevoked(leaf(ofOtherCa)), false);
  });

  it('reads an entry without a reason as "unspecified"', async () => {
    const list = RevocationList.fromCrls([await crlOf(ca, [revoked.serial], 'unspecified')], [ca.der]);
    assert.equal(list.revocationOf(leaf(revoked))?.reason, 'unspecified');
  });

  it('ignores, and reports, a CRL in a trusted CA\'s name that another key signed', async () => {
    const forged = await crlOf(ca, [valid.serial], 'keyCompromise', otherCa);
    const list = RevocationList.fromCrls([forged], [ca.der]);
    assert.equal(list.isRevoked(leaf(valid)), false);
    assert.deepEqual(list.problems, ['CRL 1 is not signed by a trusted CA']);
  });

  it('ignores a CRL of a CA that is not trusted, and one that does not parse', async () => {
    const list = RevocationList.fromCrls([await crlOf(otherCa, [ofOtherCa.serial]), new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])], [ca.der]);
    assert.equal(list.isRevoked(leaf(ofOtherCa)), false);
    assert.equal(list.problems.length, 2);
    assert.match(list.problems[1]!, /^CRL 2 does not parse/);
    assert.equal(list.crlCount, 0);
  });

  it('the empty list revokes nothing', () => {
    assert.equal(RevocationList.empty.isRevoked(leaf(revoked)), false);
    assert.equal(RevocationList.empty.size, 0);
  });
});
