import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, test } from 'node:test';
import { signWebhook, verifyWebhook, WebhookVerificationError } from '../../../src/webhooks/verify-webhook.js';

const key = randomBytes(32);
const secret = `whsec_${key.toString('base64')}`;
const id = 'msg_0123456789abcdef0123456789abcdef';
const now = Date.UTC(2026, 0, 1, 12, 0, 0);
const timestamp = Math.floor(now / 1000);
const body = JSON.stringify({ type: 'svid.expiring', timestamp: '2026-01-01T12:00:00.000Z', data: { serial: 'ab', action: 'renew' } });

/** The signature computed here from the spec's definition, not with the code under test. */
const independentSignature = (signedBody = body, signingKey = key) => `v1,${createHmac('sha256', signingKey).update(`${id}.${timestamp}.${signedBody}`).digest('base64')}`;

const headersWith = (signature: string, overrides: Record<string, string> = {}) => ({
  'webhook-id': id,
  'webhook-timestamp': String(timestamp),
  'webhook-signature': signature,
  ...overrides,
});

describe('Standard Webhooks signatures', () => {
  test('signWebhook is v1,<base64 HMAC-SHA256 of id.timestamp.body> keyed by the base64 part of whsec_', () => {
    assert.equal(signWebhook(secret, id, timestamp, body), independentSignature());
    assert.equal(signWebhook(secret, id, timestamp, Buffer.from(body)), independentSignature(), 'a Buffer body signs the same bytes');
  });

  test('a correctly signed message verifies and its id, time and JSON body come back', () => {
    const verified = verifyWebhook(secret, headersWith(independentSignature()), body, { now });
    assert.equal(verified.id, id);
    assert.equal(verified.timestamp.getTime(), timestamp * 1000);
    assert.deepEqual(verified.payload, JSON.parse(body));
  });

  test('headers are matched without regard to case, and a fetch Headers object works too', () => {
    const upper = { 'Webhook-Id': id, 'Webhook-Timestamp': String(timestamp), 'Webhook-Signature': independentSignature() };
    assert.equal(verifyWebhook(secret, upper, body, { now }).id, id);
    assert.equal(verifyWebhook(secret, new Headers(headersWith(independentSignature())), Buffer.from(body), { now }).id, id);
  });

  test('one matching signature among several (space separated) is enough; unknown versions are skipped', () => {
    const other = independentSignature(body, randomBytes(32));
    assert.equal(verifyWebhook(secret, headersWith(`v2,abc ${other} ${independentSignature()}`), body, { now }).id, id);
  });

  test('a changed body is refused', () => {
    assert.throws(() => verifyWebhook(secret, headersWith(independentSignature()), body.replace('"ab"', '"ac"'), { now }), {
      name: 'WebhookVerificationError',
      message: /no webhook-signature matches/,
    });
  });

  test('a signature made with another secret is refused', () => {
    assert.throws(() => verifyWebhook(secret, headersWith(independentSignature(body, randomBytes(32))), body, { now }), WebhookVerificationError);
  });

  test('a changed webhook-id is refused (the id is signed)', () => {
    assert.throws(() => verifyWebhook(secret, headersWith(independentSignature(), { 'webhook-id': 'msg_other' }), body, { now }), /no webhook-signature matches/);
  });

  test('a timestamp outside the tolerance is refused both ways; inside it is accepted', () => {
    const signature = independentSignature();
    assert.throws(() => verifyWebhook(secret, headersWith(signature), body, { now: now + 301_000 }), /too old \(301s, tolerance 300s\)/);
    assert.throws(() => verifyWebhook(secret, headersWith(signature), body, { now: now - 301_000 }), /in the future/);
    assert.equal(verifyWebhook(secret, headersWith(signature), body, { now: now + 299_000 }).id, id);
    assert.throws(() => verifyWebhook(secret, headersWith(signature), body, { now: new Date(now + 11_000), toleranceSeconds: 10 }), /too old/);
  });

  test('a missing header is named', () => {
    for (const name of ['webhook-id', 'webhook-timestamp', 'webhook-signature']) {
      const headers: Record<string, string> = headersWith(independentSignature());
      delete headers[name];
      assert.throws(() => verifyWebhook(secret, headers, body, { now }), new RegExp(`missing ${name} header`));
    }
  });

  test('a timestamp that is not a number of seconds is refused', () => {
    assert.throws(() => verifyWebhook(secret, headersWith(independentSignature(), { 'webhook-timestamp': '2026-01-01T12:00:00Z' }), body, { now }), /not a number of seconds/);
  });

  test('a secret without the whsec_ prefix is refused with a hint', () => {
    assert.throws(() => verifyWebhook(key.toString('base64'), headersWith(independentSignature()), body, { now }), /must start with "whsec_"/);
  });
});
