import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { webhookEventTypes } from '../../../src/server/webhooks/event-actions.js';
import { verifyWebhook } from '../../../src/webhooks/verify-webhook.js';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';
import { WebhookReceiver } from '../../helpers/webhook-receiver.js';

let t: TestServer;
let receiver: WebhookReceiver;
const clock = new FakeClock(Date.UTC(2026, 0, 1));

const admin = () => `Bearer ${t.adminToken}`;
const viewer = () => `Bearer ${t.viewerToken}`;

async function createWebhook(body: Record<string, unknown> = {}) {
  const res = await t.http
    .post('/v1/webhooks')
    .set('Authorization', admin())
    .send({ url: receiver.url, events: ['svid.expiring'], allow_private: true, ...body })
    .expect(201);
  return res.body as { id: string; secret: string; url: string; events: string[]; enabled: boolean };
}

before(async () => {
  t = await startTestServer({ clock });
  receiver = await WebhookReceiver.start();
});
after(async () => {
  await receiver.stop();
  await t.close();
});
beforeEach(() => {
  receiver.behaviour = () => 204;
});

describe('webhook subscriptions over REST', () => {
  test('create answers 201 with a whsec_ secret, shown once: never in list or show', async () => {
    const created = await createWebhook({ events: ['svid.expiring', 'agent.stale'], description: 'pager' });
    assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/);
    assert.equal(Buffer.from(created.secret.slice('whsec_'.length), 'base64').length, 32);
    assert.deepEqual(created.events, ['agent.stale', 'svid.expiring']);
    assert.equal(created.enabled, true);
    const list = await t.http.get('/v1/webhooks').set('Authorization', admin()).expect(200);
    const shown = await t.http.get(`/v1/webhooks/${created.id}`).set('Authorization', admin()).expect(200);
    assert.ok(list.body.webhooks.some((w: { id: string }) => w.id === created.id));
    for (const body of [list.body, shown.body]) {
      assert.ok(!JSON.stringify(body).includes(created.secret.slice('whsec_'.length)), 'the secret never comes back');
      assert.ok(!JSON.stringify(body).includes('secret'));
    }
    assert.equal(shown.body.description, 'pager');
    assert.equal(shown.body.allow_private, true);
  });

  test('an unknown event type is refused and the field named', async () => {
    const res = await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url: receiver.url, events: ['svid.expiring', 'svid.exipred'], allow_private: true }).expect(400);
    assert.equal(res.body.error.code, 'invalid_argument');
    assert.match(res.body.error.message, /^invalid body: events\[1\]: unknown event type "svid\.exipred" \(known: svid\.expiring, /);
    const empty = await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url: receiver.url, events: [] }).expect(400);
    assert.match(empty.body.error.message, /events: at least one event type is required/);
  });

  test('a URL that is not http(s) is refused with the field named', async () => {
    const res = await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url: 'ftp://hooks.example.com/x', events: ['svid.expiring'] }).expect(400);
    assert.equal(res.body.error.message, 'invalid body: url: scheme ftp is not allowed (use http or https)');
  });

  test('the metadata address and link-local addresses are refused unless allow_private is set', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[fe80::1]:8080/hook']) {
      const res = await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url, events: ['svid.expiring'] }).expect(400);
      assert.match(res.body.error.message, /^invalid body: url: host .* is a (cloud metadata|link-local) address; refused unless the webhook sets allow_private$/);
      await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url, events: ['svid.expiring'], allow_private: true }).expect(201);
    }
  });

  test('NAT64, 6to4 and Teredo forms of the metadata and loopback addresses are refused as those addresses', async () => {
    const cases: [string, RegExp][] = [
      ['http://[64:ff9b::169.254.169.254]/hook', /\(the NAT64 form of 169\.254\.169\.254\) is a cloud metadata address/],
      ['http://[2002:7f00:1::1]/hook', /\(the 6to4 form of 127\.0\.0\.1\) is a loopback or private address/],
      ['http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/hook', /\(the Teredo form of 127\.0\.0\.1\) is a loopback or private address/],
    ];
    for (const [url, message] of cases) {
      const res = await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url, events: ['svid.expiring'] }).expect(400);
      assert.match(res.body.error.message, message, url);
    }
  });

  test('a loopback receiver needs allow_private (the server default refuses private destinations)', async () => {
    const res = await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url: receiver.url, events: ['svid.expiring'] }).expect(400);
    assert.match(res.body.error.message, /url: host 127\.0\.0\.1 is a loopback or private address/);
  });

  test('unknown fields are refused', async () => {
    const res = await t.http.post('/v1/webhooks').set('Authorization', admin()).send({ url: receiver.url, events: ['svid.expiring'], secret: 'whsec_mine' }).expect(400);
    assert.match(res.body.error.message, /secret: unknown key/);
  });

  test('a viewer may read webhooks and deliveries but not change anything', async () => {
    const created = await createWebhook();
    await t.http.get('/v1/webhooks').set('Authorization', viewer()).expect(200);
    await t.http.get(`/v1/webhooks/${created.id}/deliveries`).set('Authorization', viewer()).expect(200);
    for (const [method, path] of [
      ['post', '/v1/webhooks'],
      ['patch', `/v1/webhooks/${created.id}`],
      ['delete', `/v1/webhooks/${created.id}`],
      ['post', `/v1/webhooks/${created.id}/test`],
      ['post', '/v1/webhook-deliveries/msg_00000000000000000000000000000000/redeliver'],
    ] as const) {
      const res = await t.http[method](path).set('Authorization', viewer()).send({}).expect(403);
      assert.equal(res.body.error.code, 'permission_denied', `${method} ${path}`);
    }
    await t.http.get('/v1/webhooks').expect(401);
  });

  test('update changes the given fields, checks the URL against the new flags, and is audited', async () => {
    const created = await createWebhook();
    const updated = await t.http
      .patch(`/v1/webhooks/${created.id}`)
      .set('Authorization', admin())
      .send({ events: ['crl.published'], enabled: false, description: 'muted' })
      .expect(200);
    assert.deepEqual(updated.body.events, ['crl.published']);
    assert.equal(updated.body.enabled, false);
    assert.equal(updated.body.url, receiver.url);
    const refused = await t.http.patch(`/v1/webhooks/${created.id}`).set('Authorization', admin()).send({ allow_private: false }).expect(400);
    assert.match(refused.body.error.message, /url: host 127\.0\.0\.1 is a loopback or private address/);
    await t.http.patch(`/v1/webhooks/${created.id}`).set('Authorization', admin()).send({}).expect(400);
    const audit = await t.http.get('/v1/audit').query({ action: 'webhook.update' }).set('Authorization', admin()).expect(200);
    assert.deepEqual(
      audit.body.records.filter((r: { target: string }) => r.target === created.id).map((r: { result: string }) => r.result),
      ['ok', 'error'],
    );
  });

  test('delete removes the webhook (404 afterwards) and writes webhook.deleted to the event log', async () => {
    const created = await createWebhook();
    await t.http.delete(`/v1/webhooks/${created.id}`).set('Authorization', admin()).expect(204);
    await t.http.get(`/v1/webhooks/${created.id}`).set('Authorization', admin()).expect(404);
    const events = await t.http.get('/v1/events').query({ type: 'webhook.deleted' }).set('Authorization', admin()).expect(200);
    const deleted = events.body.events.find((e: { subject: string }) => e.subject === created.id);
    assert.deepEqual(deleted?.payload, { subscription_id: created.id, events: ['svid.expiring'], enabled: true });
  });

  test('test sends a signed webhook.ping at once and answers with the delivery', async () => {
    const created = await createWebhook();
    const before = receiver.received.length;
    const res = await t.http.post(`/v1/webhooks/${created.id}/test`).set('Authorization', admin()).send({}).expect(200);
    assert.equal(res.body.status, 'delivered');
    assert.equal(res.body.last_status, 204);
    assert.equal(res.body.event_type, 'webhook.ping');
    const request = receiver.received[before];
    assert.ok(request);
    assert.equal(request.id, res.body.id);
    const verified = verifyWebhook(created.secret, request.headers, request.body, { now: clock.now() });
    const payload = verified.payload as { type: string; data: { subscription_id: string; action: string } };
    assert.equal(payload.type, 'webhook.ping');
    assert.equal(payload.data.subscription_id, created.id);
    assert.match(payload.data.action, /test delivery/i);
  });

  test('a ping the receiver refuses is reported, listed with its error, and can be redelivered with the same webhook-id', async () => {
    const created = await createWebhook();
    receiver.behaviour = () => 500;
    const failed = await t.http.post(`/v1/webhooks/${created.id}/test`).set('Authorization', admin()).send({}).expect(200);
    assert.equal(failed.body.status, 'pending');
    assert.equal(failed.body.last_status, 500);
    assert.match(failed.body.last_error, /^HTTP 500/);
    assert.ok(Date.parse(failed.body.next_attempt_at) > clock.now().getTime());

    const list = await t.http.get(`/v1/webhooks/${created.id}/deliveries`).query({ status: 'pending' }).set('Authorization', admin()).expect(200);
    assert.deepEqual(
      list.body.deliveries.map((d: { id: string }) => d.id),
      [failed.body.id],
    );

    receiver.behaviour = () => 200;
    const redelivered = await t.http.post(`/v1/webhook-deliveries/${failed.body.id}/redeliver`).set('Authorization', admin()).send({}).expect(200);
    assert.equal(redelivered.body.status, 'delivered');
    const ids = receiver.received.filter((r) => r.id === failed.body.id);
    assert.equal(ids.length, 2, 'the same webhook-id on the redelivery');

    const history = await t.http.get(`/v1/webhook-deliveries/${failed.body.id}`).set('Authorization', viewer()).expect(200);
    assert.deepEqual(
      history.body.history.map((a: { outcome: string; http_status: number }) => [a.outcome, a.http_status]),
      [
        ['retrying', 500],
        ['delivered', 200],
      ],
    );
  });

  test('deliveries are listed newest first and paged', async () => {
    const created = await createWebhook();
    for (let i = 0; i < 3; i++) await t.http.post(`/v1/webhooks/${created.id}/test`).set('Authorization', admin()).send({}).expect(200);
    const first = await t.http.get(`/v1/webhooks/${created.id}/deliveries`).query({ page_size: 2 }).set('Authorization', admin()).expect(200);
    assert.equal(first.body.deliveries.length, 2);
    assert.notEqual(first.body.next_page_token, '');
    const second = await t.http.get(`/v1/webhooks/${created.id}/deliveries`).query({ page_size: 2, page_token: first.body.next_page_token }).set('Authorization', admin()).expect(200);
    assert.equal(second.body.deliveries.length, 1);
    assert.equal(second.body.next_page_token, '');
    const eventIds = [...first.body.deliveries, ...second.body.deliveries].map((d: { event_id: number }) => d.event_id);
    assert.deepEqual(eventIds, [...eventIds].sort((a, b) => b - a));
  });

  test('an event appended by a producer is queued for the webhooks that want it and sent by the server dispatcher', async () => {
    const created = await createWebhook({ events: ['svid.revoked'] });
    const store = t.server.store;
    store.transaction(() => store.events.append(clock.now().getTime(), 'svid.revoked', 'spiffe://example.org/x', { serial: 'ff', spiffe_id: 'spiffe://example.org/x' }));
    await t.server.context.webhooks.runDue();
    const list = await t.http.get(`/v1/webhooks/${created.id}/deliveries`).set('Authorization', admin()).expect(200);
    assert.equal(list.body.deliveries[0].event_type, 'svid.revoked');
    assert.equal(list.body.deliveries[0].status, 'delivered');
    const metrics = await t.http.get('/metrics').expect(200);
    assert.match(metrics.text, /sigil_webhook_deliveries_total\{outcome="delivered"\} [1-9]/);
  });

  test('unknown ids are 404, malformed ones 400 with the field named', async () => {
    await t.http.get('/v1/webhooks/00000000-0000-4000-8000-000000000000').set('Authorization', admin()).expect(404);
    const bad = await t.http.get('/v1/webhooks/nope').set('Authorization', admin()).expect(400);
    assert.match(bad.body.error.message, /id: must be a webhook id/);
    await t.http.post('/v1/webhook-deliveries/msg_00000000000000000000000000000000/redeliver').set('Authorization', admin()).send({}).expect(404);
    const badDelivery = await t.http.get('/v1/webhook-deliveries/123').set('Authorization', admin()).expect(400);
    assert.match(badDelivery.body.error.message, /id: must be a delivery id/);
  });

  test('every documented event type can be subscribed to', async () => {
    const created = await createWebhook({ events: webhookEventTypes });
    assert.deepEqual([...created.events].sort(), [...webhookEventTypes].sort());
    assert.ok(created.events.includes('agent.revocation_failed') && created.events.includes('agent.svid_limit_reached'));
  });
});
