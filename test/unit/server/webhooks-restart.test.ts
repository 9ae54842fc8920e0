import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { test } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { generateWebhookSecret } from '../../../src/server/webhooks/secret.js';
import type { Store } from '../../../src/store/store.js';
import { tempDir } from '../../helpers/test-server.js';
import { WebhookReceiver } from '../../helpers/webhook-receiver.js';

async function until(condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (condition()) return;
    await delay(10);
  }
  assert.fail(`timed out waiting until ${what}`);
}

/** A server on a real SQLite file and CA keys on disk, so that a second start finds everything the first left. */
function startOn(dataDir: string, clock: FakeClock): Promise<RunningServer> {
  const config = loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: dataDir, SIGIL_LOG_LEVEL: 'silent' });
  return startServer(config, { clock, log: silentLogger, listen: false });
}

const delivered = (store: Store) => (store.db.prepare("SELECT id FROM webhook_deliveries WHERE status = 'delivered' ORDER BY id").all() as { id: string }[]).map((r) => r.id);

test('a server restarted mid-delivery sends nothing twice that was acknowledged, and everything else once more', async () => {
  const dataDir = tempDir('sigil-webhooks-restart-');
  const clock = new FakeClock(Date.UTC(2026, 0, 1));
  const receiver = await WebhookReceiver.start();
  try {
    const first = await startOn(dataDir, clock);
    const { store } = first;
    store.webhooks.subscriptions.create({ url: receiver.url, description: '', eventTypes: ['svid.expiring'], enabled: true, allowPrivate: true }, generateWebhookSecret(), clock.now().getTime());
    // The first three requests are acknowledged; the other three are still waiting for an answer when the server stops.
    receiver.behaviour = (_request, index) => (index < 3 ? 200 : 'hang');
    for (let i = 0; i < 6; i++) store.transaction(() => store.events.append(clock.now().getTime(), 'svid.expiring', `spiffe://example.org/w${i}`, { serial: `0${i}` }));

    const running = first.context.webhooks.runDue();
    await receiver.waitForRequests(6);
    await until(() => delivered(store).length === 3, 'the three acknowledged deliveries are recorded');
    const acknowledgedBeforeRestart = [...receiver.acknowledged].sort();
    assert.deepEqual(delivered(store), acknowledgedBeforeRestart);
    await first.close();
    await running;

    receiver.behaviour = () => 200;
    const second = await startOn(dataDir, clock);
    try {
      assert.deepEqual(delivered(second.store), acknowledgedBeforeRestart, 'the acknowledgements survived the restart');
      assert.equal(await second.context.webhooks.runDue(), 3, 'only the three unacknowledged deliveries are sent again');
      const allIds = (second.store.db.prepare('SELECT id FROM webhook_deliveries ORDER BY id').all() as { id: string }[]).map((r) => r.id);
      assert.equal(allIds.length, 6);
      assert.deepEqual(delivered(second.store), allIds);
      assert.deepEqual([...receiver.acknowledged].sort(), allIds, 'each webhook-id acknowledged exactly once');
      for (const id of acknowledgedBeforeRestart) assert.equal(receiver.ids().filter((x) => x === id).length, 1, `${id} was received once`);
      for (const id of allIds.filter((x) => !acknowledgedBeforeRestart.includes(x))) {
        assert.equal(receiver.ids().filter((x) => x === id).length, 2, `${id}: unanswered before the restart, sent again after it`);
      }
    } finally {
      await second.close();
    }
  } finally {
    await receiver.stop();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
