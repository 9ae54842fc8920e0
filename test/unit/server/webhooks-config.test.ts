import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadServerConfig } from '../../../src/server/config.js';
import { webhookSettingsFrom } from '../../../src/server/webhooks/webhook-settings.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-webhooks-config-');
after(() => rmSync(dir, { recursive: true, force: true }));

function load(name: string, text: string) {
  const path = join(dir, name);
  writeFileSync(path, `trust_domain: example.org\n${text}`);
  return loadServerConfig(path, {});
}

test('the shipped config/server.yaml documents the webhook defaults', () => {
  const config = loadServerConfig(new URL('../../../../config/server.yaml', import.meta.url).pathname, {});
  assert.deepEqual(config.webhooks, { timeout: 10, max_attempts: 15, backoff_base: 10, backoff_max: 7200, allow_private_destinations: false });
  assert.deepEqual(load('none.yaml', '').webhooks, config.webhooks, 'the same as with no webhooks section');
});

test('webhook settings are read in durations and turned into milliseconds for the dispatcher', () => {
  const config = load('set.yaml', 'webhooks:\n  timeout: 3s\n  max_attempts: 4\n  backoff_base: 1m\n  backoff_max: 1h\n  allow_private_destinations: true\n');
  assert.deepEqual(webhookSettingsFrom(config.webhooks), { timeoutMs: 3000, maxAttempts: 4, backoffBaseMs: 60_000, backoffMaxMs: 3_600_000, allowPrivateDestinations: true });
});

test('bad webhook settings are refused, naming the key', () => {
  assert.throws(() => load('order.yaml', 'webhooks:\n  backoff_base: 1h\n  backoff_max: 1m\n'), /webhooks\.backoff_max: must be at least backoff_base/);
  assert.throws(() => load('zero.yaml', 'webhooks:\n  max_attempts: 0\n'), /webhooks\.max_attempts/);
  assert.throws(() => load('unknown.yaml', 'webhooks:\n  retries: 3\n'), /webhooks\.retries: unknown key/);
  assert.throws(() => load('type.yaml', 'webhooks:\n  allow_private_destinations: "yes"\n'), /webhooks\.allow_private_destinations/);
});
