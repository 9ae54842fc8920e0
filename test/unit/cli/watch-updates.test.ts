// What sigil api watch writes and when it tells the consumer: only on a change of what it wrote,
// and coalesced to the latest update while a hook runs. The hook is a fake that the test releases;
// nothing sleeps.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, before, beforeEach, describe, it } from 'node:test';
import { AtomicFileSet } from '../../../src/cli/commands/watch/atomic-file-set.js';
import { SvidFileWatcher } from '../../../src/cli/commands/watch/svid-file-watcher.js';
import { watchSettings, type WatchFlags } from '../../../src/cli/commands/watch/watch-config.js';
import { parseCertificatesPem } from '../../../src/pki/certificates.js';
import { parseX509SvidResponse, type X509SvidSet } from '../../../src/workload/x509-response.js';
import { createTestCa, mintTestSvid, x509Response, x509SvidMessage, type TestCa, type TestSvid } from '../../helpers/fake-workload-api.js';
import { makeTempDir, removeDir } from '../../helpers/sigil-process.js';

/** A hook that records each call and, when held, waits until the test lets it go. */
class FakeHook {
  calls: boolean[] = [];
  private held: (() => void)[] = [];
  hold = false;

  run = async (changed: boolean): Promise<void> => {
    this.calls.push(changed);
    if (this.hold) await new Promise<void>((resolve) => this.held.push(resolve));
  };

  release(): void {
    this.hold = false;
    for (const resolve of this.held.splice(0)) resolve();
  }
}

const set = (svids: ReturnType<typeof x509SvidMessage>[], crls: Uint8Array[] = []): X509SvidSet => parseX509SvidResponse({ ...x509Response(svids), crl: crls.map((c) => Buffer.from(c)) });

describe('sigil api watch: writes on change only, coalesced to the latest', () => {
  let ca: TestCa;
  let edge: TestSvid[];
  let root: TestSvid[];
  let dir: string;
  let hook: FakeHook;
  const printed: string[] = [];

  before(async () => {
    ca = await createTestCa();
    edge = await Promise.all([1, 2, 3, 4].map(() => mintTestSvid(ca, '/edge')));
    root = await Promise.all([1, 2].map(() => mintTestSvid(ca, '/user/root')));
  });
  beforeEach(() => {
    dir = makeTempDir('sigil-watch-updates-');
    hook = new FakeHook();
    printed.length = 0;
  });
  afterEach(() => removeDir(dir));

  const watcher = (flags: WatchFlags = {}) => {
    const settings = watchSettings({ write: dir, spiffeId: 'spiffe://example.org/edge', ...flags });
    return new SvidFileWatcher(settings, { files: new AtomicFileSet(dir), afterWrite: hook.run, print: (l) => printed.push(l), say: (l) => printed.push(l) });
  };
  const both = (r: TestSvid, e: TestSvid, crls: Uint8Array[] = []) => set([x509SvidMessage(r, ca, 'dev'), x509SvidMessage(e, ca, 'edge')], crls);
  const servedSerial = () => parseCertificatesPem(readFileSync(join(dir, 'svid.pem'), 'utf8'))[0]!.serialNumber.toLowerCase();
  const generations = () => readdirSync(dir).filter((name) => name.startsWith('..gen-'));

  it('another SVID of the uid rotating, or a CRL nobody writes, changes nothing: no write, no hook', async () => {
    const w = watcher();
    w.onX509(both(root[0]!, edge[0]!));
    await w.idle();
    assert.deepEqual(hook.calls, [true]);
    assert.equal(servedSerial(), edge[0]!.serial, 'the chosen SPIFFE ID, not the first SVID');
    const current = readlinkSync(join(dir, '..data'));

    w.onX509(both(root[1]!, edge[0]!));
    w.onX509(both(root[1]!, edge[0]!, [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])]));
    await w.idle();
    assert.deepEqual(hook.calls, [true], 'nothing the watcher writes changed');
    assert.equal(readlinkSync(join(dir, '..data')), current);
    assert.equal(w.readiness().ready, true, w.readiness().reason);
  });

  it('a CRL change is a change when a CRL file is written', async () => {
    const w = watcher({ crlFile: 'crl.pem' });
    w.onX509(both(root[0]!, edge[0]!));
    await w.idle();
    assert.match(printed.join('\n'), /warning: crl\.pem holds 0 CRL\(s\) for 1 CAs in the bundle/);
    w.onX509(both(root[0]!, edge[0]!, [new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])]));
    await w.idle();
    assert.deepEqual(hook.calls, [true, true]);
    assert.match(readFileSync(join(dir, 'crl.pem'), 'utf8'), /^-----BEGIN X509 CRL-----\nMAMCAQE=\n-----END X509 CRL-----\n$/);
  });

  it('updates that arrive while the hook runs coalesce: one more write, of the latest, then the hook once', async () => {
    const w = watcher();
    hook.hold = true;
    w.onX509(both(root[0]!, edge[0]!));
    await Promise.resolve();
    for (const next of edge.slice(1)) w.onX509(both(root[0]!, next));
    assert.equal(w.readiness().ready, false, 'the latest update is not on disk yet');
    assert.match(w.readiness().reason, /writing the latest update/);
    hook.release();
    hook.hold = false;
    await w.idle();
    assert.deepEqual(hook.calls, [true, true], 'the first write, then one for the three that waited');
    assert.equal(servedSerial(), edge[3]!.serial, 'the latest, not the next');
    assert.equal(generations().length, 2, 'edge[1] and edge[2] were never written');
    assert.equal(w.readiness().ready, true);
  });

  it('after stop, nothing that waited is written', async () => {
    const w = watcher();
    hook.hold = true;
    w.onX509(both(root[0]!, edge[0]!));
    await Promise.resolve();
    w.onX509(both(root[0]!, edge[1]!));
    const stopped = w.stop();
    hook.release();
    await stopped;
    assert.deepEqual(hook.calls, [true]);
    assert.equal(servedSerial(), edge[0]!.serial);
  });

  it('a restarted watcher finds the files current: no new generation, and the hook is told nothing changed', async () => {
    const first = watcher();
    first.onX509(both(root[0]!, edge[0]!));
    await first.idle();
    const second = watcher();
    second.onX509(both(root[0]!, edge[0]!));
    await second.idle();
    assert.deepEqual(hook.calls, [true, false]);
    assert.equal(generations().length, 1);
  });

  it('no SVID with the chosen SPIFFE ID: waits, says what the agent offers, and /ready says so', async () => {
    const w = watcher({ spiffeId: 'spiffe://example.org/db' });
    w.onX509(both(root[0]!, edge[0]!));
    await w.idle();
    assert.deepEqual(hook.calls, []);
    assert.equal(printed.at(-1), 'waiting: no SVID with SPIFFE ID spiffe://example.org/db; the agent offers: spiffe://example.org/user/root (hint dev), spiffe://example.org/edge (hint edge)');
    assert.equal(w.readiness().ready, false);
    assert.match(w.readiness().reason, /^no SVID with SPIFFE ID/);
  });

  it('/ready turns false when the SVID on disk has expired', async () => {
    let now = Date.now();
    const settings = watchSettings({ write: dir });
    const w = new SvidFileWatcher(settings, { files: new AtomicFileSet(dir), afterWrite: hook.run, print: () => undefined, say: () => undefined, now: () => now });
    w.onX509(set([x509SvidMessage(edge[0]!, ca)]));
    await w.idle();
    assert.equal(w.readiness().ready, true);
    now = edge[0]!.notAfter.getTime() + 1;
    assert.match(w.readiness().reason, /expired at/);
  });

  it('JWT-SVID files join the generation; /ready waits for them', async () => {
    const settings = watchSettings({ write: dir, spiffeId: 'spiffe://example.org/edge' }, { jwt_svids: [{ jwt_audience: 'billing', jwt_svid_file_name: 'billing.jwt' }] });
    const w = new SvidFileWatcher(settings, { files: new AtomicFileSet(dir), afterWrite: hook.run, print: () => undefined, say: () => undefined });
    w.onX509(both(root[0]!, edge[0]!));
    await w.idle();
    assert.match(w.readiness().reason, /^no JWT-SVID yet for billing\.jwt$/);
    w.onJwt('billing.jwt', 'header.payload.signature');
    await w.idle();
    assert.equal(readFileSync(join(dir, 'billing.jwt'), 'utf8'), 'header.payload.signature');
    assert.equal(statSync(join(dir, 'billing.jwt')).mode & 0o777, 0o600);
    assert.deepEqual(hook.calls, [true, true]);
    assert.equal(w.readiness().ready, true);
  });

  it('file names, a combined cert+key file and modes as configured', async () => {
    const w = watcher({ svidFile: 'tls.crt', keyFile: 'tls.key', bundleFile: 'ca.crt', combinedFile: 'haproxy.pem', certMode: '0640', keyMode: '0400' });
    w.onX509(both(root[0]!, edge[0]!));
    await w.idle();
    const mode = (name: string) => (statSync(join(dir, name)).mode & 0o777).toString(8);
    assert.deepEqual([mode('tls.crt'), mode('ca.crt'), mode('tls.key'), mode('haproxy.pem')], ['640', '640', '400', '400']);
    const combined = readFileSync(join(dir, 'haproxy.pem'), 'utf8');
    assert.equal(combined, readFileSync(join(dir, 'tls.crt'), 'utf8') + readFileSync(join(dir, 'tls.key'), 'utf8'));
    assert.equal(readlinkSync(join(dir, 'tls.key')), '..data/tls.key');
  });
});
