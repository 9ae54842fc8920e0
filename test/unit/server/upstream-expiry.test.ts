import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { silentLogger } from '../../../src/common/logger.js';
import { MemoryKeyManager } from '../../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../../src/server/config.js';
import { startServer } from '../../../src/server/server.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-upstream-expiry-');
after(() => rmSync(dir, { recursive: true, force: true }));

test('an upstream CA nearing its end raises authority.expiring once, with what to do', async () => {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'up.key', '-out', 'up.pem', '-days', '6', '-subj', '/O=Upstream',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], { cwd: dir, stdio: 'ignore' });
  writeFileSync(join(dir, 'server.yaml'), 'trust_domain: example.org\nca:\n  ttl: 1h\n  upstream:\n    cert_file: up.pem\n    key_file: up.key\n');
  const clock = new FakeClock(Date.now());
  const server = await startServer(loadServerConfig(join(dir, 'server.yaml'), { SIGIL_DATA_DIR: join(dir, 'data') }), { clock, log: silentLogger, keyManager: new MemoryKeyManager(), listen: false });
  try {
    const upstreamEvents = () => server.store.events.listAfter(0, 10_000, ['authority.expiring']).filter((e) => e.payload.upstream === true);
    await server.scheduler.tick();
    assert.equal(upstreamEvents().length, 0, 'six days left of six: nothing to say');
    clock.advance(5.5 * 86_400_000); // a sixth of the life is one day: now half a day is left
    await server.scheduler.tick();
    await server.scheduler.tick();
    assert.equal(upstreamEvents().length, 1);
    assert.match(String(upstreamEvents()[0]?.payload.action), /replace ca\.upstream\.cert_file and key_file before/);
  } finally {
    await server.close();
  }
});
