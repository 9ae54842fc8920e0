import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { alertTimes, alertTypeOf, nextAlertAt } from '../../../src/server/lifecycle/expiry-alerts.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

describe('expiry alert schedule (pure)', () => {
  it('one alert per threshold, then one at expiry', () => {
    assert.deepEqual(alertTimes(0, 1000, [0.5, 0.8]), [500, 800, 1000]);
    assert.equal(nextAlertAt(0, 1000, [0.5, 0.8], 0), 500);
    assert.equal(nextAlertAt(0, 1000, [0.5, 0.8], 2), 1000);
    assert.equal(nextAlertAt(0, 1000, [0.5, 0.8], 3), null);
    assert.deepEqual(alertTimes(0, 1000, []), [1000]);
  });
  it('event types by kind and stage', () => {
    const rows: [Parameters<typeof alertTypeOf>[0], number, string][] = [
      ['workload', 1, 'svid.expiring'],
      ['workload', 2, 'svid.expiring'],
      ['workload', 3, 'svid.expired'],
      ['mint', 3, 'svid.expired'],
      ['agent', 1, 'agent.svid_expiring'],
      ['agent', 3, 'agent.svid_expiring'],
    ];
    for (const [kind, stage, type] of rows) assert.equal(alertTypeOf(kind, stage, [0.5, 0.8]), type, `${kind} stage ${stage}`);
  });
});

describe('lifecycle scheduler with a fake clock', () => {
  const clock = new FakeClock(Date.now());
  let t: TestServer;
  const events = (type: string) => t.server.store.events.listAfter(0, 100_000, [type]);

  before(async () => {
    t = await startTestServer({ clock, env: { SIGIL_TRUST_DOMAIN: 'example.org' } });
  });
  after(async () => {
    await t.close();
  });

  it('an unrotated SVID alerts at 50 %, 80 % and expiry, once each; a superseded one never', async () => {
    const keys = await generateKeyPair('ec-p256');
    const entry = t.server.store.entries.create({ spiffeId: 'spiffe://example.org/w', parentId: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:1' }], dnsNames: [], x509SvidTtl: 1000, jwtSvidTtl: 60, hint: '', admin: false }, clock.now().getTime());
    const first = await t.server.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/w', dnsNames: [], ttlSeconds: 1000, subjectPublicKey: keys.publicKey, kind: 'workload', entryId: entry.id });
    const superseded = await t.server.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/old', dnsNames: [], ttlSeconds: 1000, subjectPublicKey: keys.publicKey, kind: 'workload', entryId: null });
    void superseded;
    const lifetime = first.notAfter.getTime() - first.notBefore.getTime();
    const mine = (type: string) => events(type).filter((e) => e.payload.serial === first.serial);
    await t.server.scheduler.tick();
    assert.equal(mine('svid.expiring').length, 0, 'nothing before 50 %');
    clock.set(new Date(first.notBefore.getTime() + lifetime * 0.5 + 10));
    await t.server.scheduler.tick();
    await t.server.scheduler.tick();
    assert.equal(mine('svid.expiring').length, 1, 'one alert at 50 %, not two');
    assert.equal(mine('svid.expiring')[0]?.payload.lifetime_elapsed, 0.5);
    assert.match(String(mine('svid.expiring')[0]?.payload.action), /has not been rotated/);
    clock.set(new Date(first.notAfter.getTime() + 10));
    await t.server.scheduler.tick();
    assert.deepEqual(mine('svid.expiring').map((e) => e.payload.lifetime_elapsed), [0.5, 0.8], 'the missed 80 % alert is still sent');
    assert.equal(mine('svid.expired').length, 1);
    await t.server.scheduler.tick();
    assert.equal(mine('svid.expired').length, 1, 'no duplicate');
  });

  it('a successor silences the alerts of the SVID it replaces', async () => {
    const keys = await generateKeyPair('ec-p256');
    const now = clock.now().getTime();
    const entry = t.server.store.entries.create({ spiffeId: 'spiffe://example.org/rotated', parentId: 'spiffe://example.org/agent', selectors: [{ type: 'unix', value: 'uid:2' }], dnsNames: [], x509SvidTtl: 1000, jwtSvidTtl: 60, hint: '', admin: false }, now);
    const params = { spiffeId: 'spiffe://example.org/rotated', dnsNames: [], ttlSeconds: 1000, subjectPublicKey: keys.publicKey, kind: 'workload' as const, entryId: entry.id, agentId: null };
    const old = await t.server.ca.issueX509Svid(params);
    clock.advance(400_000);
    await t.server.ca.issueX509Svid(params);
    clock.advance(500_000);
    await t.server.scheduler.tick();
    assert.equal(events('svid.expiring').filter((e) => e.payload.serial === old.serial).length, 0);
    const row = t.server.store.db.prepare('SELECT superseded_at IS NOT NULL AS s FROM issued_svids WHERE serial = ?').get(old.serial) as { s: number };
    assert.equal(row.s, 1);
  });

  it('the CA rotates through prepared → active → old, the prepared CA is in the bundle before it signs', async () => {
    const active = t.server.store.authorities.active('x509');
    assert.ok(active);
    const lifetime = active.notAfter - active.notBefore;
    const sequence0 = t.server.ca.bundleSequence();
    clock.set(new Date(active.notAfter - lifetime / 2 + 1));
    await t.server.scheduler.tick();
    const prepared = t.server.store.authorities.prepared('x509');
    assert.ok(prepared, 'prepared at half-life');
    assert.ok(t.server.ca.bundleSequence() > sequence0, 'bundle sequence bumped');
    assert.ok(t.server.ca.x509BundleDer().some((d) => Buffer.from(d).equals(Buffer.from(prepared.bundleCertDer as Uint8Array))), 'published before it signs');
    assert.equal(t.server.store.authorities.active('x509')?.id, active.id, 'the old one still signs');
    clock.set(new Date(active.notAfter - lifetime / 6 + 1));
    await t.server.scheduler.tick();
    assert.equal(t.server.store.authorities.active('x509')?.id, prepared.id, 'activated at a sixth');
    assert.equal(t.server.store.authorities.get(active.id)?.state, 'old');
    assert.ok(t.server.ca.x509BundleDer().length >= 2, 'the old CA stays in the bundle');
    assert.deepEqual(events('authority.prepared').map((e) => e.subject).filter((s) => s === prepared.id), [prepared.id]);
    assert.ok(events('authority.activated').some((e) => e.subject === prepared.id));
    // after expiry + grace the old one leaves the bundle, with an event
    clock.set(new Date(active.notAfter + t.config.lifecycle.bundle_grace * 1000 + 1));
    await t.server.scheduler.tick();
    assert.ok(!t.server.ca.x509BundleDer().some((d) => Buffer.from(d).equals(Buffer.from(active.bundleCertDer as Uint8Array))));
    assert.ok(events('authority.expired').some((e) => e.subject === active.id));
  });

  it('a stale agent raises agent.stale once per silent period', async () => {
    const now = clock.now().getTime();
    t.server.store.agents.insert('stale-1', 'spiffe://example.org/sigil/agent/join_token/stale-1', 'join_token', now);
    await t.server.scheduler.tick();
    assert.equal(events('agent.stale').filter((e) => e.subject === 'stale-1').length, 0);
    clock.advance(t.config.lifecycle.stale_agent_after * 1000 + 1000);
    await t.server.scheduler.tick();
    await t.server.scheduler.tick();
    assert.equal(events('agent.stale').filter((e) => e.subject === 'stale-1').length, 1);
    t.server.store.agents.touch('stale-1', clock.now().getTime());
    clock.advance(t.config.lifecycle.stale_agent_after * 1000 + 1000);
    await t.server.scheduler.tick();
    assert.equal(events('agent.stale').filter((e) => e.subject === 'stale-1').length, 2, 'a new silent period alerts again');
  });

  it('metrics: rotation outcome and earliest current SVID expiry as absolute timestamps', async () => {
    await t.server.scheduler.tick();
    const text = (await t.http.get('/metrics').expect(200)).text;
    const success = Number(/^sigil_authority_rotation_last_success_timestamp_seconds\{kind="x509"\} (\d+)$/m.exec(text)?.[1]);
    assert.equal(success, Math.floor(clock.now().getTime() / 1000));
    assert.match(text, /sigil_authority_not_after_timestamp_seconds\{kind="x509",state="active",authority_id="[^"]+"\} \d{10}/);
  });

  it('alert state survives a restart: a new scheduler on the same database repeats nothing', async () => {
    const before = t.server.store.events.lastId();
    const { LifecycleScheduler } = await import('../../../src/server/lifecycle/scheduler.js');
    const again = new LifecycleScheduler({ store: t.server.store, ca: t.server.ca, clock, log: t.server.context.log, settings: { intervalMs: 1000, retentionMs: t.config.lifecycle.retention * 1000, thresholds: [0.5, 0.8], staleAgentAfterMs: t.config.lifecycle.stale_agent_after * 1000 } });
    await again.tick();
    const newAlerts = t.server.store.events.listAfter(before, 1000).filter((e) => /expir|stale/.test(e.type));
    assert.deepEqual(newAlerts.map((e) => e.type), []);
  });
});
