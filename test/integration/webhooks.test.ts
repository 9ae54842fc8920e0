import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { verifyWebhook } from '../../src/webhooks/verify-webhook.js';
import { freePort, makeTempDir, removeDir, runCli, startSigilServer, type ProcessResult, type SigilServerProcess } from '../helpers/sigil-process.js';
import { WebhookReceiver } from '../helpers/webhook-receiver.js';

interface WebhookJson {
  id: string;
  url: string;
  events: string[];
  enabled: boolean;
  secret?: string;
}

interface DeliveryJson {
  id: string;
  status: string;
  event_type: string;
  last_status: number | null;
}

function assertExit(result: ProcessResult, code: number): void {
  assert.equal(result.code, code, `exit code ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

describe('sigil webhook against a real sigil server process and a real receiver', () => {
  let dataDir: string;
  let configFile: string;
  let env: Record<string, string>;
  let server: SigilServerProcess | undefined;
  let receiver: WebhookReceiver;
  let webhook: WebhookJson;
  let failedDeliveryId: string;

  const sigil = (...args: string[]) => runCli(['webhook', ...args], { env });
  const start = () => startSigilServer({ env, address: env.SIGIL_ADMIN_ADDR ?? '', args: ['--config', configFile] });

  before(async () => {
    dataDir = makeTempDir('sigil-webhooks-data-');
    configFile = join(dataDir, 'server.yaml');
    // A long backoff: the server must not retry on its own while the test redelivers by hand.
    writeFileSync(configFile, 'trust_domain: example.org\nwebhooks:\n  timeout: 5s\n  backoff_base: 1h\n  backoff_max: 2h\n');
    env = { SIGIL_DATA_DIR: dataDir, SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`, SIGIL_LOG_LEVEL: 'warn' };
    receiver = await WebhookReceiver.start();
    server = await start();
  });

  after(async () => {
    await server?.stop('SIGKILL');
    await receiver.stop();
    removeDir(dataDir);
  });

  // Not crl.published or authority.*: the server itself writes those when it starts, and a delivery
  // that gets through would bring the pending one below forward before the test redelivers it.
  it('create prints the whsec_ secret once, with the webhook', async () => {
    const result = await sigil('create', '--url', receiver.url, '--events', 'svid.expiring,agent.banned', '--events', 'svid.revoked', '--allow-private', '--output', 'json');
    assertExit(result, 0);
    webhook = JSON.parse(result.stdout) as WebhookJson;
    assert.match(webhook.secret ?? '', /^whsec_[A-Za-z0-9+/=]{44}$/);
    assert.deepEqual(webhook.events, ['agent.banned', 'svid.expiring', 'svid.revoked']);
    assert.equal(webhook.enabled, true);

    const pretty = await sigil('create', '--url', receiver.url, '--events', 'svid.expired', '--allow-private', '--disabled', '--description', 'second');
    assertExit(pretty, 0);
    assert.match(pretty.stdout, /^Secret: whsec_\S+$/m);
    assert.match(pretty.stdout, /shown only now/);
    assert.match(pretty.stdout, /^Enabled\s+: false$/m);
  });

  it('list and show never print the secret', async () => {
    const list = await sigil('list');
    assertExit(list, 0);
    assert.match(list.stdout, /^Found 2 webhooks$/m);
    assert.match(list.stdout, new RegExp(`Webhook ID\\s+: ${webhook.id}`));
    const show = await sigil('show', webhook.id, '--output', 'json');
    assertExit(show, 0);
    for (const output of [list.stdout, show.stdout]) assert.ok(!output.includes('whsec_'), 'no secret in the output');
    assert.equal((JSON.parse(show.stdout) as WebhookJson).url, receiver.url);
  });

  it('create refuses a bad scheme, the metadata address and an unknown event type, naming the field', async () => {
    const ftp = await sigil('create', '--url', 'ftp://hooks.example.com/', '--events', 'svid.expiring');
    assertExit(ftp, 1);
    assert.match(ftp.stderr, /url: scheme ftp is not allowed/);
    const metadata = await sigil('create', '--url', 'http://169.254.169.254/latest/meta-data/', '--events', 'svid.expiring');
    assertExit(metadata, 1);
    assert.match(metadata.stderr, /url: host 169\.254\.169\.254 is a cloud metadata address; refused unless the webhook sets allow_private/);
    const unknown = await sigil('create', '--url', 'https://hooks.example.com/', '--events', 'svid.expiring,svid.nope');
    assertExit(unknown, 1);
    assert.match(unknown.stderr, /events\[1\]: unknown event type "svid\.nope"/);
    const missing = await sigil('create', '--url', 'https://hooks.example.com/');
    assertExit(missing, 2);
    assert.match(missing.stderr, /missing required flag --events/);
  });

  it('test delivers a signed ping that the receiver verifies with the helper', async () => {
    const result = await sigil('test', webhook.id);
    assertExit(result, 0);
    assert.match(result.stdout, /^Delivered: HTTP 204 \(delivery msg_[0-9a-f]{32}\)$/m);
    const request = receiver.received.at(-1);
    assert.ok(request);
    const verified = verifyWebhook(webhook.secret ?? '', request.headers, request.body);
    assert.equal((verified.payload as { type: string }).type, 'webhook.ping');
    assert.match(result.stdout, new RegExp(request.id));
  });

  it('test says so, and exits 1, when the receiver refuses; the delivery waits as pending', async () => {
    receiver.behaviour = () => 500;
    const result = await sigil('test', webhook.id);
    assertExit(result, 1);
    assert.match(result.stderr, /delivery msg_[0-9a-f]{32} failed: HTTP 500: receiver says 500; it will be tried again at \d{4}-/);
    const deliveries = await sigil('deliveries', webhook.id, '--status', 'pending', '--output', 'json');
    assertExit(deliveries, 0);
    const pending = (JSON.parse(deliveries.stdout) as { deliveries: DeliveryJson[] }).deliveries;
    assert.equal(pending.length, 1);
    assert.equal(pending[0]?.last_status, 500);
    failedDeliveryId = pending[0]?.id ?? '';
  });

  it('after the server is killed and started again, the pending delivery is still there and redeliver sends it with the same webhook-id', async () => {
    await server?.stop('SIGKILL');
    server = await start();
    receiver.behaviour = () => 200;
    const pending = await sigil('deliveries', webhook.id, '--status', 'pending');
    assertExit(pending, 0);
    assert.match(pending.stdout, new RegExp(`Delivery ID\\s+: ${failedDeliveryId}`));
    assert.match(pending.stdout, /Last error\s+: HTTP 500/);

    const result = await sigil('redeliver', failedDeliveryId);
    assertExit(result, 0);
    assert.match(result.stdout, /^Delivered: HTTP 200/m);
    assert.equal(receiver.ids().filter((id) => id === failedDeliveryId).length, 2, 'refused once, then sent again under the same id');
    assert.deepEqual(
      receiver.acknowledged.filter((id) => id === failedDeliveryId),
      [failedDeliveryId],
    );
    const all = await sigil('deliveries', webhook.id, '--output', 'json');
    const statuses = (JSON.parse(all.stdout) as { deliveries: DeliveryJson[] }).deliveries.map((d) => d.status);
    assert.deepEqual(statuses, ['delivered', 'delivered']);
  });

  it('update changes fields; delete removes the webhook', async () => {
    const updated = await sigil('update', webhook.id, '--disable', '--events', 'authority.expiring', '--output', 'json');
    assertExit(updated, 0);
    const body = JSON.parse(updated.stdout) as WebhookJson;
    assert.equal(body.enabled, false);
    assert.deepEqual(body.events, ['authority.expiring']);
    const nothing = await sigil('update', webhook.id);
    assertExit(nothing, 2);
    assert.match(nothing.stderr, /nothing to update/);

    const deleted = await sigil('delete', webhook.id);
    assertExit(deleted, 0);
    assert.match(deleted.stdout, new RegExp(`Deleted webhook with ID: ${webhook.id}`));
    const gone = await sigil('show', webhook.id);
    assertExit(gone, 1);
    assert.match(gone.stderr, /not found/);
  });
});
