import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import supertest from 'supertest';
import { FakeClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { crlNumberOf, parseCrlDer } from '../../../src/pki/crl.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { startServer } from '../../../src/server/server.js';
import { tempDir } from '../../helpers/test-server.js';

const dataDir = tempDir('sigil-crl-restart-');
after(() => rmSync(dataDir, { recursive: true, force: true }));

const clock = new FakeClock();
// Keys on disk (the default KeyManager), so that the second start signs with the same CA.
const start = () => startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: dataDir }), { clock, log: silentLogger, listen: false });

test('CRL Numbers keep increasing across a restart on the same SQLite file, and revocations stay listed', async () => {
  const first = await start();
  const auth = { Authorization: `Bearer ${readFileSync(join(dataDir, 'admin.token'), 'utf8').trim()}` };
  const http = supertest(first.app);
  const atStart = first.context.crls.current()[0];
  assert.equal(atStart?.crlNumber, 1, 'the first start publishes CRL 1');
  const minted = await http.post('/v1/x509/mint').set(auth).send({ spiffe_id: 'spiffe://example.org/kept', ttl: '1h' }).expect(201);
  const revoked = await http.post('/v1/svids/revoke').set(auth).send({ serial: minted.body.serial, reason: 'keyCompromise' }).expect(200);
  assert.equal(revoked.body.crls[0].crl_number, 2);
  await first.close();

  clock.advance(1000);
  const second = await start();
  try {
    const crl = second.context.crls.current()[0];
    assert.ok(crl);
    assert.equal(crl.crlNumber, 3, 'the restart re-signs with the next number');
    assert.equal(crlNumberOf(parseCrlDer(crl.der)), 3);
    assert.deepEqual(parseCrlDer(crl.der).entries.map((e) => e.serialNumber.toLowerCase()), [minted.body.serial]);
    assert.equal((second.store.db.prepare('SELECT COUNT(*) AS n FROM crl_state').get() as { n: number }).n, 1, 'one CRL state row per authority');
  } finally {
    await second.close();
  }
});
