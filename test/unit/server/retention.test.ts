import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { MemoryKeyManager } from '../../../src/server/ca/key-manager.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import { silentLogger } from '../../../src/common/logger.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { startServer, type RunningServer } from '../../../src/server/server.js';
import { tempDir } from '../../helpers/test-server.js';
import { rmSync } from 'node:fs';

const clock = new FakeClock(Date.now());
const keys = new MemoryKeyManager();
const dir = tempDir('sigil-retention-');
let server: RunningServer;

before(async () => {
  server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: dir }), { clock, log: silentLogger, keyManager: keys, listen: false });
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const count = (sql: string) => (server.store.db.prepare(sql).get() as { n: number }).n;

test('lessons rows 9, 10, 13: expired records, used tokens and dead authorities (with their keys) are pruned after the retention; nothing live is', async () => {
  const key = await generateKeyPair('ec-p256');
  const short = await server.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/short', dnsNames: [], ttlSeconds: 60, subjectPublicKey: key.publicKey, kind: 'mint' });
  server.store.joinTokens.create('hash-1', 'used', clock.now().getTime() + 60_000, clock.now().getTime());
  const oldX509 = server.store.authorities.active('x509');
  assert.ok(oldX509);
  // rotate by hand twice so that the first authority becomes old, then let everything age
  await server.ca.authorities.prepare('x509');
  await server.ca.authorities.activate('x509');
  const retentionMs = loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org' }).lifecycle.retention * 1000;

  await server.scheduler.prune();
  assert.equal(count(`SELECT COUNT(*) AS n FROM issued_svids WHERE serial = '${short.serial}'`), 1, 'not yet: within the retention');

  clock.set(new Date(oldX509.notAfter + retentionMs + 1000));
  // a fresh SVID issued now must survive the prune
  const fresh = await server.ca.issueX509Svid({ spiffeId: 'spiffe://example.org/fresh', dnsNames: [], ttlSeconds: 60, subjectPublicKey: key.publicKey, kind: 'mint' });
  await server.scheduler.prune();
  assert.equal(count(`SELECT COUNT(*) AS n FROM issued_svids WHERE serial = '${short.serial}'`), 0, 'the expired record is gone');
  assert.equal(count(`SELECT COUNT(*) AS n FROM issued_svids WHERE serial = '${fresh.serial}'`), 1, 'a valid one stays');
  assert.equal(count("SELECT COUNT(*) AS n FROM join_tokens WHERE token_hash = 'hash-1'"), 0, 'the expired token is gone');
  assert.equal(server.store.authorities.get(oldX509.id), undefined, 'the old authority is gone');
  assert.equal(await keys.get(oldX509.id), undefined, 'and so is its private key');
  assert.ok(server.store.authorities.active('x509'), 'the active authority is never pruned');
  assert.ok(server.store.events.lastId() > 0, 'events are kept');
});
