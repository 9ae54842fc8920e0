import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, beforeEach, describe, test } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { certificateDer, createSelfSignedCaCertificate } from '../../../src/pki/certificates.js';
import { crlNumberOf, parseCrlDer, type RevocationReason } from '../../../src/pki/crl.js';
import type { KeyPair } from '../../../src/pki/keys.js';
import { crlThisUpdateBackdateMs, CrlPublisher } from '../../../src/server/ca/crl-publisher.js';
import { MemoryKeyManager, type KeyManager } from '../../../src/server/ca/key-manager.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { tempDir } from '../../helpers/test-server.js';

const hour = 3600_000;
const dirs: string[] = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A KeyManager that can lose a key for a while (signing fails), or hold signing back until a gate opens. */
class FlakyKeyManager extends MemoryKeyManager {
  missing = false;
  gate: Promise<void> | undefined;

  override async get(id: string): Promise<KeyPair | undefined> {
    await this.gate;
    return this.missing ? undefined : super.get(id);
  }
}

interface Fixture {
  store: Store;
  clock: FakeClock;
  keys: FlakyKeyManager;
  publisher: CrlPublisher;
  authorityId: string;
}

let serialCounter = 0;

async function addAuthority(store: Store, keys: KeyManager, clock: FakeClock, id: string, ttlMs = 7 * 24 * hour): Promise<void> {
  const now = clock.now().getTime();
  const pair = await keys.generate(id, 'ec-p256');
  const cert = await createSelfSignedCaCertificate(pair, { trustDomain: 'example.org', subject: 'C=US, O=Sigil', notBefore: new Date(now - 1000), notAfter: new Date(now + ttlMs) });
  const der = certificateDer(cert);
  store.authorities.insert({ id, kind: 'x509', state: 'prepared', keyAlgorithm: 'ec-p256', certificateDer: der, upstreamChainDer: [], bundleCertDer: der, publicKeyJwk: null, upstream: false, notBefore: now - 1000, notAfter: now + ttlMs, createdAt: now });
}

async function fixture(validitySeconds?: number): Promise<Fixture> {
  const dir = tempDir('sigil-crl-publisher-');
  dirs.push(dir);
  const store = openStore(join(dir, 'sigil.db'));
  const clock = new FakeClock();
  const keys = new FlakyKeyManager();
  await addAuthority(store, keys, clock, 'ca-one');
  const publisher = new CrlPublisher(store, keys, clock, silentLogger, validitySeconds === undefined ? {} : { validitySeconds });
  return { store, clock, keys, publisher, authorityId: 'ca-one' };
}

/** Record an issued SVID of `authorityId` valid for `ttlMs` from now; revoke it if a reason is given. */
function issue(f: Fixture, ttlMs: number, revokeWith?: RevocationReason, authorityId = f.authorityId): string {
  const now = f.clock.now().getTime();
  const serial = (++serialCounter).toString(16).padStart(32, '1');
  f.store.issuedSvids.insert({ serial, spiffeId: 'spiffe://example.org/w', kind: 'mint', entryId: null, agentId: null, authorityId, notBefore: now, notAfter: now + ttlMs, createdAt: now });
  if (revokeWith) f.store.revocations.markRevoked(serial, now, revokeWith);
  return serial;
}

const listed = (der: Uint8Array) => parseCrlDer(der).entries.map((e) => e.serialNumber.toLowerCase());

let f: Fixture;
beforeEach(async () => {
  f = await fixture();
});

describe('publish', () => {
  test('lists the revoked, unexpired SVIDs of the authority with their reasons and dates, not the valid ones', async () => {
    const revoked = issue(f, hour, 'keyCompromise');
    const valid = issue(f, hour);
    const crl = await f.publisher.publish(f.authorityId);
    const parsed = parseCrlDer(crl.der);
    assert.deepEqual(listed(crl.der), [revoked]);
    assert.equal(parsed.entries[0]?.reason, 1);
    assert.equal(parsed.entries[0]?.revocationDate.getTime(), f.clock.now().getTime());
    assert.ok(!listed(crl.der).includes(valid));
    assert.equal(crl.revokedCount, 1);
  });

  test('CRL Number strictly increases, the store keeps only the newest CRL, and each publication is a crl.published event', async () => {
    const numbers: number[] = [];
    for (let i = 0; i < 4; i++) {
      const crl = await f.publisher.publish(f.authorityId);
      numbers.push(crl.crlNumber);
      assert.equal(crlNumberOf(parseCrlDer(crl.der)), crl.crlNumber, 'the stored number is the one signed');
      f.clock.advance(1000);
    }
    assert.deepEqual(numbers, [1, 2, 3, 4]);
    assert.equal((f.store.db.prepare('SELECT COUNT(*) AS n FROM crl_state').get() as { n: number }).n, 1);
    const events = f.store.events.listAfter(0, 100, ['crl.published']);
    assert.deepEqual(events.map((e) => e.payload.crl_number), [1, 2, 3, 4]);
    assert.equal(events[0]?.subject, f.authorityId);
    assert.deepEqual(Object.keys(events[0]?.payload ?? {}).sort(), ['authority_id', 'crl_number', 'next_update', 'revoked_count', 'this_update']);
  });

  test('thisUpdate is backdated for clock skew and nextUpdate is the configured validity after signing', async () => {
    const short = await fixture(600);
    const now = short.clock.now().getTime();
    const crl = await short.publisher.publish(short.authorityId);
    assert.equal(crl.thisUpdate, now - crlThisUpdateBackdateMs);
    assert.equal(crl.nextUpdate, now + 600_000);
    const parsed = parseCrlDer(crl.der);
    assert.equal(parsed.thisUpdate.getTime(), crl.thisUpdate);
    assert.equal(parsed.nextUpdate?.getTime(), crl.nextUpdate);
    const defaults = await f.publisher.publish(f.authorityId);
    assert.equal(defaults.nextUpdate - f.clock.now().getTime(), 24 * hour, 'default validity 24h');
  });

  test('calls made while a CRL is being signed share one later signature (no lost revocation, no duplicate numbers)', async () => {
    let open = () => {};
    f.keys.gate = new Promise((resolve) => (open = resolve));
    const first = f.publisher.publish(f.authorityId);
    await new Promise((resolve) => setImmediate(resolve)); // the first signing has started and waits at the gate
    const serial = issue(f, hour, 'superseded');
    const burst = [f.publisher.publish(f.authorityId), f.publisher.publish(f.authorityId), f.publisher.publish(f.authorityId)];
    open();
    const [a, ...rest] = await Promise.all([first, ...burst]);
    assert.equal(a?.crlNumber, 1);
    assert.deepEqual(rest.map((c) => c.crlNumber), [2, 2, 2], 'one more signature for the whole burst');
    assert.ok(listed(rest[0]?.der ?? new Uint8Array()).includes(serial), 'the revocation made during the first signing is on the next CRL');
    assert.equal(f.store.events.listAfter(0, 100, ['crl.published']).length, 2);
  });

  test('an unknown or JWT authority is refused', async () => {
    await assert.rejects(f.publisher.publish('nope'), /no X\.509 authority nope/);
  });
});

describe('expired serials leave the CRL', () => {
  test('after appearing on one CRL signed past their expiry (RFC 5280 §3.3), so the CRL shrinks back', async () => {
    const shortLived = issue(f, 60_000, 'keyCompromise');
    const longLived = issue(f, 10 * hour, 'cessationOfOperation');
    const before = await f.publisher.publish(f.authorityId);
    assert.deepEqual(listed(before.der).sort(), [shortLived, longLived].sort());

    f.clock.advance(60_000 + crlThisUpdateBackdateMs + 1);
    const pastExpiry = await f.publisher.publish(f.authorityId);
    assert.ok(pastExpiry.thisUpdate > f.store.issuedSvids.get(shortLived)!.notAfter, 'this CRL was issued after the certificate expired');
    assert.ok(listed(pastExpiry.der).includes(shortLived), 'still listed on the first CRL issued after its expiry');

    f.clock.advance(1000);
    const next = await f.publisher.publish(f.authorityId);
    assert.deepEqual(listed(next.der), [longLived]);
    assert.equal(next.revokedCount, 1);
  });
});

describe('refreshDue', () => {
  test('signs missing CRLs, leaves fresh ones, and re-signs once half the validity has passed', async () => {
    const first = await f.publisher.refreshDue();
    assert.deepEqual(first.map((c) => [c.authorityId, c.crlNumber]), [[f.authorityId, 1]]);
    f.clock.advance(12 * hour - 1);
    assert.deepEqual(await f.publisher.refreshDue(), [], 'not yet half way');
    f.clock.advance(1);
    const resigned = await f.publisher.refreshDue();
    assert.deepEqual(resigned.map((c) => c.crlNumber), [2]);
    assert.equal(resigned[0]?.nextUpdate, f.clock.now().getTime() + 24 * hour);
  });

  test('covers every unexpired X.509 authority (a newly added one gets its first CRL), and no expired one', async () => {
    await addAuthority(f.store, f.keys, f.clock, 'ca-short', 2 * hour);
    const first = await f.publisher.refreshDue();
    assert.deepEqual(first.map((c) => c.authorityId).sort(), ['ca-one', 'ca-short']);
    assert.equal(f.publisher.currentCrlsDer().length, 2);
    f.clock.advance(2 * hour);
    assert.deepEqual(f.publisher.current().map((c) => c.authorityId), ['ca-one'], 'an expired authority has no current CRL');
    assert.equal(f.publisher.currentFor('ca-short'), undefined);
    f.clock.advance(11 * hour);
    assert.deepEqual((await f.publisher.refreshDue()).map((c) => c.authorityId), ['ca-one']);
  });

  test('a CRL whose signing failed is retried by the next refresh, whatever its age, and never rejects', async () => {
    await f.publisher.publish(f.authorityId);
    issue(f, hour, 'keyCompromise');
    f.keys.missing = true;
    await assert.rejects(f.publisher.publish(f.authorityId), /private key of X\.509 authority ca-one is missing/);
    assert.deepEqual(await f.publisher.refreshDue(), [], 'refresh logs the failure instead of throwing');
    f.keys.missing = false;
    const retried = await f.publisher.refreshDue();
    assert.deepEqual(retried.map((c) => [c.crlNumber, c.revokedCount]), [[2, 1]]);
    assert.deepEqual(await f.publisher.refreshDue(), [], 'once signed, it is fresh again');
  });
});
