import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CachedSvid, SvidCache } from '../../../../src/agent/cache/svid-cache.js';
import { callerSecrets, type CallerSecretsInput } from '../../../../src/agent/endpoints/sds/caller-secrets.js';
import type { AgentEntry } from '../../../../src/agent/sync/entry-cache.js';

const now = Date.parse('2030-01-01T12:00:00Z');
const entry = (id: string, spiffeId: string): AgentEntry => ({ id, spiffeId, parentId: 'spiffe://example.org/agent', selectors: [], dnsNames: [], x509SvidTtl: 3600, jwtSvidTtl: 300, hint: '', admin: false, revision: 0, createdAt: 0 });
const svid = (entryId: string, spiffeId: string, serial: string): CachedSvid => ({
  entryId,
  spiffeId,
  hint: '',
  revision: 0,
  serial,
  chainDer: [new Uint8Array([1])],
  privateKeyPkcs8: new Uint8Array([2]),
  notBefore: new Date(now - 60_000),
  notAfter: new Date(now + 3_600_000),
  rotateAt: now + 1_000_000,
  receivedAt: now,
});
const cacheOf = (...svids: CachedSvid[]) => ({ get: (id: string) => svids.find((s) => s.entryId === id) }) as unknown as SvidCache;
const bundle = { x509Authorities: [new Uint8Array([9, 9])], jwtAuthorities: [] };
const web = entry('e1', 'spiffe://example.org/web');
const db = entry('e2', 'spiffe://example.org/db');

const input = (overrides: Partial<CallerSecretsInput> = {}): CallerSecretsInput => ({
  entries: [web, db],
  svids: cacheOf(svid('e1', web.spiffeId, 'aa'), svid('e2', db.spiffeId, 'bb')),
  bundle,
  trustDomain: 'example.org',
  federatedBundles: [],
  now,
  ...overrides,
});

describe('what an SDS caller may be served', () => {
  it('identities follow the entry order (the first is `default`, SDS-03); the own bundle carries the trust domain', () => {
    const state = callerSecrets(input());
    assert.equal(state.servable, true);
    assert.deepEqual(state.sources.identities.map((i) => i.spiffeId), [web.spiffeId, db.spiffeId]);
    assert.deepEqual(state.sources.ownBundle, { trustDomain: 'example.org', x509AuthoritiesDer: bundle.x509Authorities });
    assert.equal(state.pendingSpiffeIds.size, 0);
  });

  it('SDS-10: a caller with no entries is servable (bundles only); a caller whose SVIDs are all being signed waits', () => {
    assert.equal(callerSecrets(input({ entries: [] })).servable, true);
    const waiting = callerSecrets(input({ svids: cacheOf() }));
    assert.equal(waiting.servable, false);
    assert.deepEqual([...waiting.pendingSpiffeIds].sort(), [db.spiffeId, web.spiffeId]);
  });

  it('nothing is servable before the agent holds a bundle', () => {
    assert.equal(callerSecrets(input({ bundle: undefined })).servable, false);
  });

  it('an entry whose SVID was dropped (revoked) is pending while the others are served', () => {
    const state = callerSecrets(input({ svids: cacheOf(svid('e2', db.spiffeId, 'bb')) }));
    assert.equal(state.servable, true);
    assert.deepEqual([...state.pendingSpiffeIds], [web.spiffeId]);
    assert.deepEqual(state.sources.identities.map((i) => i.spiffeId), [db.spiffeId]);
  });

  it('SDS-11: the fingerprint (one version per change) moves with a new SVID, a bundle change, a federated bundle, a dropped SVID; not otherwise', () => {
    const base = callerSecrets(input()).fingerprint;
    assert.equal(callerSecrets(input()).fingerprint, base);
    assert.equal(callerSecrets(input({ entries: [web, db, entry('e3', 'spiffe://example.org/new')] })).fingerprint, base, 'a new entry whose SVID is not signed yet serves nothing new');
    assert.notEqual(callerSecrets(input({ svids: cacheOf(svid('e1', web.spiffeId, 'cc'), svid('e2', db.spiffeId, 'bb')) })).fingerprint, base);
    assert.notEqual(callerSecrets(input({ bundle: { ...bundle, x509Authorities: [new Uint8Array([9, 9]), new Uint8Array([8])] } })).fingerprint, base);
    assert.notEqual(callerSecrets(input({ federatedBundles: [{ trustDomain: 'partner.org', x509AuthoritiesDer: [new Uint8Array([7])] }] })).fingerprint, base);
    assert.notEqual(callerSecrets(input({ svids: cacheOf(svid('e2', db.spiffeId, 'bb')) })).fingerprint, base);
  });
});
