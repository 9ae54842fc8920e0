import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { chooseSvid, describeChoice } from '../../../src/workload/mtls/svid-choice.js';
import type { X509Svid } from '../../../src/workload/x509-response.js';
import { createTestCa } from '../../helpers/fake-workload-api.js';
import { testSvid } from './mtls-fixtures.js';

describe('mtls: choosing one SVID of a Workload API response', () => {
  let web: X509Svid;
  let client: X509Svid;

  before(async () => {
    const ca = await createTestCa('example.org');
    web = await testSvid(ca, '/demo/web', 'web');
    client = await testSvid(ca, '/demo/client', 'client');
  });

  it('WL-30: without a choice, the first SVID is the default identity', () => {
    assert.equal(chooseSvid([client, web]), client);
  });

  it('by hint, whatever the order', () => {
    assert.equal(chooseSvid([client, web], { hint: 'web' }), web);
    assert.equal(chooseSvid([web, client], { hint: 'client' }), client);
  });

  it('by SPIFFE ID', () => {
    assert.equal(chooseSvid([web, client], { spiffeId: 'spiffe://example.org/demo/client' }), client);
  });

  it('nothing when the response lacks the chosen one, or is empty', () => {
    assert.equal(chooseSvid([web], { hint: 'client' }), undefined);
    assert.equal(chooseSvid([web], { spiffeId: 'spiffe://example.org/demo/client' }), undefined);
    assert.equal(chooseSvid([]), undefined);
  });

  it('names the choice for messages', () => {
    assert.equal(describeChoice({ hint: 'web' }), 'hint "web"');
    assert.equal(describeChoice({ spiffeId: 'spiffe://example.org/x' }), 'SPIFFE ID spiffe://example.org/x');
    assert.equal(describeChoice(), 'the default SVID');
  });
});
