import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { FakeClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { WebhookDispatcher } from '../../../src/server/webhooks/dispatcher.js';
import { webhookEventActions } from '../../../src/server/webhooks/event-actions.js';
import { generateWebhookSecret } from '../../../src/server/webhooks/secret.js';
import { createWebhookMetrics, registerWebhookMetrics, type WebhookMetrics } from '../../../src/server/webhooks/webhook-metrics.js';
import type { WebhookSettings } from '../../../src/server/webhooks/webhook-settings.js';
import { openStore, type Store } from '../../../src/store/store.js';
import { verifyWebhook } from '../../../src/webhooks/verify-webhook.js';
import { tempDir } from '../../helpers/test-server.js';
import { WebhookReceiver } from '../../helpers/webhook-receiver.js';

const second = 1000;
const minute = 60 * second;
const settings: WebhookSettings = { timeoutMs: 2000, maxAttempts: 15, backoffBaseMs: 10 * second, backoffMaxMs: 2 * 3600 * second, allowPrivateDestinations: false };

interface Fixture {
  dir: string;
  store: Store;
  clock: FakeClock;
  receiver: WebhookReceiver;
  metrics: WebhookMetrics;
  registry: Registry;
  dispatcher: WebhookDispatcher;
}

let f: Fixture;

function makeDispatcher(overrides: Partial<WebhookSettings> = {}, random: () => number = () => 0.5): WebhookDispatcher {
  return new WebhookDispatcher({ store: f.store, clock: f.clock, log: silentLogger, metrics: f.metrics, settings: { ...settings, ...overrides }, random });
}

function subscribe(eventTypes: string[], options: { enabled?: boolean; url?: string } = {}): { id: string; secret: string } {
  const secret = generateWebhookSecret();
  const subscription = f.store.webhooks.subscriptions.create(
    { url: options.url ?? f.receiver.url, description: '', eventTypes, enabled: options.enabled ?? true, allowPrivate: true },
    secret,
    f.clock.now().getTime(),
  );
  return { id: subscription.id, secret };
}

/** Append an event the way producers do: inside a transaction, through the public API. */
function appendEvent(type: string, payload: Record<string, unknown> = {}): number {
  return f.store.transaction(() => f.store.events.append(f.clock.now().getTime(), type, String(payload.spiffe_id ?? ''), payload));
}

function deliveriesOf(subscriptionId: string) {
  return f.store.webhooks.deliveries.list(subscriptionId, undefined, { pageSize: 1000 }).items;
}

async function outcomeCount(outcome: string): Promise<number> {
  const metric = await f.metrics.deliveries.get();
  return metric.values.find((v) => v.labels.outcome === outcome)?.value ?? 0;
}

beforeEach(async () => {
  const dir = tempDir('sigil-webhooks-');
  const store = openStore(join(dir, 'sigil.db'));
  const metrics = createWebhookMetrics(store);
  const registry = new Registry();
  registerWebhookMetrics(registry, metrics);
  f = { dir, store, clock: new FakeClock(Date.UTC(2026, 0, 1)), receiver: await WebhookReceiver.start(), metrics, registry, dispatcher: undefined as unknown as WebhookDispatcher };
  f.dispatcher = makeDispatcher();
});

afterEach(async () => {
  await f.dispatcher.stop();
  await f.receiver.stop();
  f.store.close();
  rmSync(f.dir, { recursive: true, force: true });
});

describe('webhook delivery', () => {
  test('a delivery has the Standard Webhooks headers and a signature that verifies with the helper and by an independent HMAC', async () => {
    const { secret } = subscribe(['svid.expiring']);
    appendEvent('svid.expiring', { spiffe_id: 'spiffe://example.org/web', serial: '0a1b', not_after: '2026-01-01T01:00:00.000Z' });
    assert.equal(await f.dispatcher.runDue(), 1);

    const [request] = f.receiver.received;
    assert.ok(request);
    assert.match(request.id, /^msg_[0-9a-f]{32}$/);
    assert.equal(request.headers['content-type'], 'application/json');
    assert.equal(request.headers['webhook-timestamp'], String(f.clock.now().getTime() / 1000));
    const signature = String(request.headers['webhook-signature']);
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${request.id}.${request.headers['webhook-timestamp']}.${request.body}`).digest('base64');
    assert.equal(signature, `v1,${expected}`);
    const verified = verifyWebhook(secret, request.headers, request.body, { now: f.clock.now() });
    assert.equal(verified.id, request.id);
  });

  test('the payload is { type, timestamp, data } with the event payload, its ids and the action to take', async () => {
    subscribe(['svid.expiring']);
    const eventId = appendEvent('svid.expiring', { spiffe_id: 'spiffe://example.org/web', serial: '0a1b', not_after: '2026-01-01T01:00:00.000Z' });
    await f.dispatcher.runDue();
    const payload = JSON.parse(f.receiver.received[0]?.body ?? '{}') as { type: string; timestamp: string; data: Record<string, unknown> };
    assert.deepEqual(payload, {
      type: 'svid.expiring',
      timestamp: '2026-01-01T00:00:00.000Z',
      data: {
        event_id: eventId,
        subject: 'spiffe://example.org/web',
        spiffe_id: 'spiffe://example.org/web',
        serial: '0a1b',
        not_after: '2026-01-01T01:00:00.000Z',
        action: webhookEventActions['svid.expiring'],
      },
    });
  });

  test("a producer's own action text, which knows the particulars, is kept", async () => {
    subscribe(['agent.stale']);
    appendEvent('agent.stale', { agent_id: 'a1', action: 'agent a1 has not synced since 2025-12-31T23:00:00.000Z: check the node' });
    appendEvent('agent.stale', { agent_id: 'a2' });
    await f.dispatcher.runDue();
    const actions = f.receiver.received.map((r) => (JSON.parse(r.body) as { data: { agent_id: string; action: string } }).data).sort((a, b) => a.agent_id.localeCompare(b.agent_id));
    assert.deepEqual(
      actions.map((d) => d.action),
      ['agent a1 has not synced since 2025-12-31T23:00:00.000Z: check the node', webhookEventActions['agent.stale']],
    );
  });

  test('the outbox row is written in the transaction of the event: a rolled-back change queues nothing', () => {
    const { id } = subscribe(['svid.revoked']);
    assert.throws(() =>
      f.store.transaction(() => {
        f.store.events.append(f.clock.now().getTime(), 'svid.revoked', 's', { serial: '01' });
        assert.equal(deliveriesOf(id).length, 1, 'inside the transaction the delivery row exists');
        throw new Error('roll back');
      }),
    );
    assert.equal(deliveriesOf(id).length, 0);
    assert.equal(f.store.webhooks.deliveries.countPending(), 0);
  });

  test('the event filter: only enabled subscriptions that asked for the type get a delivery', async () => {
    const expiring = subscribe(['svid.expiring', 'svid.expired']);
    const revoked = subscribe(['svid.revoked']);
    const disabled = subscribe(['svid.expiring'], { enabled: false });
    appendEvent('svid.expiring', { serial: '01' });
    appendEvent('svid.revoked', { serial: '02' });
    appendEvent('entry.created');
    assert.deepEqual(deliveriesOf(expiring.id).map((d) => d.eventType), ['svid.expiring']);
    assert.deepEqual(deliveriesOf(revoked.id).map((d) => d.eventType), ['svid.revoked']);
    assert.equal(deliveriesOf(disabled.id).length, 0);
    await f.dispatcher.runDue();
    assert.deepEqual(f.receiver.received.map((r) => (JSON.parse(r.body) as { type: string }).type).sort(), ['svid.expiring', 'svid.revoked']);
  });

  test('after a 500 the delivery is retried after its backoff with the same webhook-id and body, then delivered', async () => {
    const { id } = subscribe(['svid.expired']);
    f.receiver.behaviour = (_request, index) => (index === 0 ? 500 : 200);
    appendEvent('svid.expired', { serial: '03' });
    await f.dispatcher.runDue();
    let [delivery] = deliveriesOf(id);
    assert.equal(delivery?.status, 'pending');
    assert.equal(delivery?.attempts, 1);
    assert.equal(delivery?.lastStatus, 500);
    assert.equal(delivery?.lastError, 'HTTP 500: receiver says 500');
    // random() = 0.5: the first delay is 10 s × (1/2 + 0.5/2) = 7.5 s.
    assert.equal(delivery?.nextAttemptAt, f.clock.now().getTime() + 7500);

    f.clock.advance(7 * second);
    assert.equal(await f.dispatcher.runDue(), 0, 'not due yet');
    f.clock.advance(500);
    assert.equal(await f.dispatcher.runDue(), 1);
    [delivery] = deliveriesOf(id);
    assert.equal(delivery?.status, 'delivered');
    assert.equal(delivery?.deliveredAt, f.clock.now().getTime());
    const [first, second_] = f.receiver.received;
    assert.equal(second_?.id, first?.id, 'same webhook-id on every attempt');
    assert.equal(second_?.body, first?.body, 'same body on every attempt');
    assert.notEqual(second_?.headers['webhook-timestamp'], first?.headers['webhook-timestamp'], 'each attempt is signed at its own time');
    assert.deepEqual(
      f.store.webhooks.deliveries.attempts(delivery?.id ?? '').map((a) => [a.outcome, a.httpStatus]),
      [
        ['retrying', 500],
        ['delivered', 200],
      ],
    );
  });

  test('a receiver that never answers times out, and the attempt is retried', async () => {
    await f.dispatcher.stop();
    f.dispatcher = makeDispatcher({ timeoutMs: 200 });
    const { id } = subscribe(['agent.stale']);
    f.receiver.behaviour = (_request, index) => (index === 0 ? 'hang' : 204);
    appendEvent('agent.stale', { agent_id: 'a1' });
    const started = performance.now();
    await f.dispatcher.runDue();
    assert.ok(performance.now() - started >= 190, 'waited for the timeout');
    let [delivery] = deliveriesOf(id);
    assert.equal(delivery?.status, 'pending');
    assert.equal(delivery?.lastError, 'no answer within 200 ms');
    assert.equal(delivery?.lastStatus, null);
    f.clock.advance(10 * second);
    await f.dispatcher.runDue();
    [delivery] = deliveriesOf(id);
    assert.equal(delivery?.status, 'delivered');
    assert.equal(f.receiver.received.length, 2);
  });

  test('a connection refused is a failed attempt like any other', async () => {
    const { id } = subscribe(['crl.published']);
    await f.receiver.down();
    appendEvent('crl.published', { authority_id: 'x' });
    await f.dispatcher.runDue();
    const [delivery] = deliveriesOf(id);
    assert.equal(delivery?.status, 'pending');
    assert.match(delivery?.lastError ?? '', /ECONNREFUSED/);
  });

  test('backoff doubles per failed attempt up to the maximum, each delay a random point in the upper half of its step', async () => {
    await f.dispatcher.stop();
    const draws = [0, 0.999, 0.3, 0.7, 0.01, 0.5, 0.9, 0.2];
    let draw = 0;
    f.dispatcher = makeDispatcher({ backoffBaseMs: 10 * second, backoffMaxMs: 300 * second, maxAttempts: 20 }, () => draws[draw++ % draws.length] ?? 0);
    const { id } = subscribe(['authority.expiring']);
    f.receiver.behaviour = () => 503;
    appendEvent('authority.expiring', { authority_id: 'a' });
    const delays: number[] = [];
    for (let attempt = 1; attempt <= 8; attempt++) {
      await f.dispatcher.runDue();
      const [delivery] = deliveriesOf(id);
      assert.equal(delivery?.attempts, attempt);
      const delay = (delivery?.nextAttemptAt ?? 0) - f.clock.now().getTime();
      delays.push(delay);
      const nominal = Math.min(300 * second, 10 * second * 2 ** (attempt - 1));
      assert.ok(delay >= nominal / 2 && delay <= nominal, `attempt ${attempt}: delay ${delay} ms within [${nominal / 2}, ${nominal}]`);
      f.clock.advance(delay);
    }
    assert.deepEqual(delays, [5000, 19990, 26000, 68000, 80800, 225000, 285000, 180000]);
    assert.equal(new Set(delays.slice(5)).size, 3, 'capped steps still vary: the jitter spreads retries out');
  });

  test('after max_attempts failures the delivery is dead-lettered, not tried again, and the metrics count each outcome', async () => {
    await f.dispatcher.stop();
    f.dispatcher = makeDispatcher({ maxAttempts: 3 });
    const { id } = subscribe(['authority.tainted']);
    f.receiver.behaviour = () => 500;
    appendEvent('authority.tainted', { authority_id: 'a' });
    for (let i = 0; i < 5; i++) {
      await f.dispatcher.runDue();
      f.clock.advance(3600 * second);
    }
    const [delivery] = deliveriesOf(id);
    assert.equal(delivery?.status, 'dead');
    assert.equal(delivery?.attempts, 3);
    assert.equal(delivery?.nextAttemptAt, null);
    assert.equal(f.receiver.received.length, 3);
    assert.deepEqual(
      f.store.webhooks.deliveries.attempts(delivery?.id ?? '').map((a) => a.outcome),
      ['retrying', 'retrying', 'dead'],
    );
    assert.equal(await outcomeCount('retrying'), 2);
    assert.equal(await outcomeCount('dead'), 1);
    assert.equal(await outcomeCount('delivered'), 0);

    // Manual redelivery: pending again, due now, with a fresh budget and the same webhook-id.
    f.receiver.behaviour = () => 200;
    f.store.webhooks.deliveries.requeue(delivery?.id ?? '', f.clock.now().getTime());
    const redelivered = await f.dispatcher.deliverNow(delivery?.id ?? '');
    assert.equal(redelivered.status, 'delivered');
    assert.equal(redelivered.attempts, 1);
    assert.equal(f.receiver.received[3]?.id, delivery?.id);
    assert.equal(await outcomeCount('delivered'), 1);
    const exposition = await f.registry.metrics();
    assert.match(exposition, /sigil_webhook_deliveries_total\{outcome="dead"\} 1/);
    assert.match(exposition, /sigil_webhook_deliveries_total\{outcome="delivered"\} 1/);
    assert.match(exposition, /sigil_webhook_deliveries_pending 0/);
  });

  test('a receiver that is down for an hour gets everything once it is back, each once', async () => {
    await f.dispatcher.stop();
    f.dispatcher = makeDispatcher({}, Math.random);
    const { id } = subscribe(['svid.expiring', 'agent.stale']);
    await f.receiver.down();
    const sent: number[] = [];
    for (let minuteOfOutage = 0; minuteOfOutage < 60; minuteOfOutage++) {
      if (minuteOfOutage % 5 === 0) sent.push(appendEvent(minuteOfOutage % 10 === 0 ? 'svid.expiring' : 'agent.stale', { minute: minuteOfOutage }));
      await f.dispatcher.runDue();
      f.clock.advance(minute);
    }
    assert.equal(f.store.webhooks.deliveries.countPending(), sent.length, 'everything is still queued after an hour');
    assert.ok(deliveriesOf(id).every((d) => d.attempts >= 2), 'and has been tried more than once');

    await f.receiver.up();
    let minutesUntilEmpty = 0;
    while (f.store.webhooks.deliveries.countPending() > 0) {
      assert.ok(minutesUntilEmpty < 6 * 60, 'delivered within the retry schedule');
      f.clock.advance(minute);
      minutesUntilEmpty++;
      await f.dispatcher.runDue();
    }
    const eventIds = f.receiver.received.map((r) => (JSON.parse(r.body) as { data: { event_id: number } }).data.event_id);
    assert.deepEqual([...eventIds].sort((a, b) => a - b), sent, 'every event, each exactly once');
    assert.equal(new Set(f.receiver.ids()).size, sent.length);
    assert.ok(deliveriesOf(id).every((d) => d.status === 'delivered'));
    // The first retry that gets through brings every other queued delivery forward.
    const deliveredAt = new Set(deliveriesOf(id).map((d) => d.deliveredAt));
    assert.equal(deliveredAt.size, 1, 'all delivered in the same run, not each after its own backoff');
  });

  test('deliveries of a disabled subscription wait and go out when it is enabled again', async () => {
    const { id } = subscribe(['authority.activated']);
    appendEvent('authority.activated', { authority_id: 'a' });
    f.store.webhooks.subscriptions.update(id, { enabled: false }, f.clock.now().getTime());
    assert.equal(await f.dispatcher.runDue(), 0);
    assert.equal(f.receiver.received.length, 0);
    f.store.webhooks.subscriptions.update(id, { enabled: true }, f.clock.now().getTime());
    assert.equal(await f.dispatcher.runDue(), 1);
    assert.equal(deliveriesOf(id)[0]?.status, 'delivered');
  });

  test('a delivery asked for at once while the dispatcher is sending it is sent once', async () => {
    const { id } = subscribe(['agent.banned']);
    appendEvent('agent.banned', { agent_id: 'a' });
    const [delivery] = deliveriesOf(id);
    const [sentNow] = await Promise.all([f.dispatcher.deliverNow(delivery?.id ?? ''), f.dispatcher.runDue(), f.dispatcher.deliverNow(delivery?.id ?? '')]);
    assert.equal(sentNow.status, 'delivered');
    assert.equal(f.receiver.received.length, 1);
  });

  test('the background loop sends a committed event without being asked', async () => {
    subscribe(['authority.prepared']);
    f.dispatcher.start();
    appendEvent('authority.prepared', { authority_id: 'next' });
    await f.receiver.waitForRequests(1);
    assert.equal((JSON.parse(f.receiver.received[0]?.body ?? '{}') as { type: string }).type, 'authority.prepared');
  });

  test('a destination the policy refuses is a failed attempt and nothing is sent', async () => {
    const { id } = subscribe(['svid.revoked'], { url: 'http://169.254.169.254/latest/meta-data/' });
    f.store.db.prepare('UPDATE webhook_subscriptions SET allow_private = 0 WHERE id = ?').run(id);
    appendEvent('svid.revoked', { serial: '05' });
    await f.dispatcher.runDue();
    const [delivery] = deliveriesOf(id);
    assert.equal(delivery?.status, 'pending');
    assert.match(delivery?.lastError ?? '', /cloud metadata address; refused unless the webhook sets allow_private/);
  });
});
