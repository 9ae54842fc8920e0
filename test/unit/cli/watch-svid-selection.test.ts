import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { selectSvid } from '../../../src/cli/commands/watch/svid-selection.js';
import { parseX509Svid, type X509Svid } from '../../../src/workload/x509-response.js';
import { createTestCa, mintTestSvid, x509SvidMessage } from '../../helpers/fake-workload-api.js';

describe('which SVID sigil api watch writes', () => {
  let root: X509Svid;
  let edge: X509Svid;
  let edgeInternal: X509Svid;

  before(async () => {
    const ca = await createTestCa();
    root = parseX509Svid(x509SvidMessage(await mintTestSvid(ca, '/user/root'), ca, 'dev'));
    edge = parseX509Svid(x509SvidMessage(await mintTestSvid(ca, '/edge'), ca, 'public'));
    edgeInternal = parseX509Svid(x509SvidMessage(await mintTestSvid(ca, '/edge'), ca, 'internal'));
  });

  it('without a choice: the first (the default identity, WL-30)', () => {
    assert.deepEqual(selectSvid([root, edge], {}), { svid: root });
  });

  it('by SPIFFE ID: the newer entry of a uid with two, not the first', () => {
    assert.deepEqual(selectSvid([root, edge], { spiffeId: 'spiffe://example.org/edge' }), { svid: edge });
  });

  it('by hint, and by SPIFFE ID and hint together', () => {
    assert.deepEqual(selectSvid([root, edge, edgeInternal], { hint: 'internal' }), { svid: edgeInternal });
    assert.deepEqual(selectSvid([root, edge, edgeInternal], { spiffeId: 'spiffe://example.org/edge', hint: 'public' }), { svid: edge });
  });

  it('no match names what was asked and every choice the agent offers', () => {
    assert.deepEqual(selectSvid([root, edge], { spiffeId: 'spiffe://example.org/db', hint: 'x' }), {
      missing: 'no SVID with SPIFFE ID spiffe://example.org/db and hint "x"; the agent offers: spiffe://example.org/user/root (hint dev), spiffe://example.org/edge (hint public)',
    });
  });
});
