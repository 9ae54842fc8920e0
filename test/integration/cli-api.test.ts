// `sigil api ...` as a real process against a fake Workload API on a real unix socket. The fake
// (test/helpers/fake-workload-api.ts) stands in for the Sigil agent in these client tests only.
import * as grpc from '@grpc/grpc-js';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { toProtoStruct } from '../../src/common/grpc/workload-api-types.js';
import { parseCertificatesPem } from '../../src/pki/certificates.js';
import { signJwtSvid } from '../../src/pki/jwt.js';
import { caSpec, issue, leafSpec, pkcs8Of } from '../helpers/spiffe-certs.js';
import { FakeWorkloadApi, createTestCa, mintTestSvid, x509Response, x509SvidMessage, type TestCa, type TestSvid } from '../helpers/fake-workload-api.js';
import { makeTempDir, removeDir, runCli, runProcess, type ProcessResult } from '../helpers/sigil-process.js';
import { startWatch } from '../helpers/watch-process.js';

function assertExit(result: ProcessResult, code: number): void {
  assert.equal(result.code, code, `exit code ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

const modeOf = (path: string) => statSync(path).mode & 0o777;

describe('sigil api against a fake Workload API', () => {
  let fake: FakeWorkloadApi;
  let ca: TestCa;
  let web: TestSvid;
  let workDir: string;
  // A developer's own SPIFFE_ENDPOINT_SOCKET must not leak in; empty counts as unset.
  const noEnvSocket = { SPIFFE_ENDPOINT_SOCKET: '' };
  const sigil = (args: string[], env: Record<string, string> = noEnvSocket) => runCli(args, { env, cwd: workDir });

  before(async () => {
    ca = await createTestCa('example.org');
    web = await mintTestSvid(ca, '/web');
    fake = await FakeWorkloadApi.start();
    workDir = makeTempDir('sigil-cli-api-');
  });

  after(async () => {
    await fake.stop();
    removeDir(workDir);
  });

  afterEach(() => {
    fake.calls.length = 0;
    fake.x509 = { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' };
  });

  describe('fetch x509', () => {
    it('prints the SVID and writes svid.pem, svid.key (0600) and bundle.pem that openssl verifies', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const dir = join(workDir, 'fetched');
      const result = await sigil(['api', 'fetch', 'x509', '--socket', fake.address, '--write', dir]);
      assertExit(result, 0);
      assert.match(result.stdout, /^Received 1 SVID after \d+ms/);
      assert.match(result.stdout, /SPIFFE ID : spiffe:\/\/example\.org\/web/);
      assert.match(result.stdout, new RegExp(`Serial +: ${web.serial}`));
      assert.match(result.stdout, new RegExp(`Expires +: ${web.notAfter.toISOString().replace(/\.000Z$/, 'Z')}`));

      assert.equal(modeOf(join(dir, 'svid.key')), 0o600);
      assert.equal(modeOf(join(dir, 'svid.pem')), 0o644);
      assert.match(readFileSync(join(dir, 'svid.key'), 'utf8'), /^-----BEGIN PRIVATE KEY-----\n/);
      assert.equal(parseCertificatesPem(readFileSync(join(dir, 'svid.pem'), 'utf8'))[0]!.serialNumber.toLowerCase(), web.serial);
      const verify = await runProcess('openssl', ['verify', '-CAfile', join(dir, 'bundle.pem'), join(dir, 'svid.pem')]);
      assertExit(verify, 0);
      assert.match(verify.stdout, /svid\.pem: OK/);
    });

    it('WL-02: the request carries workload.spiffe.io: true', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      assertExit(await sigil(['api', 'fetch', 'x509', '--socket', fake.address]), 0);
      assert.deepEqual(fake.callsOf('FetchX509SVID').map((call) => call.securityHeader), [['true']]);
    });

    it('WL-10: without --socket the address comes from SPIFFE_ENDPOINT_SOCKET; --output json', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca, 'internal')]);
      const result = await sigil(['api', 'fetch', 'x509', '--output', 'json'], { SPIFFE_ENDPOINT_SOCKET: fake.address });
      assertExit(result, 0);
      const json = JSON.parse(result.stdout) as { svids: { spiffe_id: string; serial: string; hint: string }[] };
      assert.deepEqual(json.svids.map(({ spiffe_id, serial, hint }) => ({ spiffe_id, serial, hint })), [{ spiffe_id: 'spiffe://example.org/web', serial: web.serial, hint: 'internal' }]);
    });

    it("SPIRE's spellings: -socketPath with a bare socket path, -write", async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const dir = join(workDir, 'spire-spelling');
      assertExit(await sigil(['api', 'fetch', 'x509', '-socketPath', fake.socketPath, '-write', dir]), 0);
      assert.ok(existsSync(join(dir, 'svid.pem')) && existsSync(join(dir, 'svid.key')) && existsSync(join(dir, 'bundle.pem')));
    });

    it('X-21: a leaf with the CA flag is refused with the go-spiffe message, and nothing is written', async () => {
      const root = await issue(caSpec('example.org'));
      const caLeaf = await issue(leafSpec('spiffe://example.org/web', { basicConstraints: { ca: true, critical: true } }), root);
      fake.x509 = x509Response([{ spiffe_id: 'spiffe://example.org/web', x509_svid: Buffer.from(caLeaf.der), x509_svid_key: Buffer.from(await pkcs8Of(caLeaf.keys)), bundle: Buffer.from(root.der), hint: '' }]);
      const dir = join(workDir, 'refused');
      const result = await sigil(['api', 'fetch', 'x509', '--socket', fake.address, '--write', dir]);
      assertExit(result, 1);
      assert.equal(result.stderr, 'Error: x509svid: certificate validation failed: leaf certificate must not have CA flag set to true\n');
      assert.equal(existsSync(dir), false);
    });

    it('WL-30: an empty svids list is refused', async () => {
      fake.x509 = x509Response([]);
      const result = await sigil(['api', 'fetch', 'x509', '--socket', fake.address]);
      assertExit(result, 1);
      assert.equal(result.stderr, 'Error: no SVIDs in response\n');
    });

    it('WL-05: PermissionDenied from the agent exits 1 with its message', async () => {
      const result = await sigil(['api', 'fetch', 'x509', '--socket', fake.address]);
      assertExit(result, 1);
      assert.equal(result.stderr, 'Error: rpc error: code = PermissionDenied desc = no identity issued\n');
    });

    it('an agent that is not listening is an error (exit 1), not a hang', async () => {
      const result = await sigil(['api', 'fetch', 'x509', '--socket', `unix://${workDir}/nobody.sock`]);
      assertExit(result, 1);
      assert.match(result.stderr, /^Error: rpc error: code = Unavailable desc = .*connect ENOENT .*nobody\.sock\n$/);
      assert.doesNotMatch(result.stderr, /Resolution note/, "grpc-js's empty resolution note is left out");
    });
  });

  describe('fetch jwt, fetch bundles, validate jwt', () => {
    it('WL-32: fetch jwt sends every audience and the SPIFFE ID and prints the token', async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await signJwtSvid(ca.keys, 'kid-1', { sub: 'spiffe://example.org/web', aud: ['billing', 'audit'], exp: now + 300, iat: now });
      fake.jwtSvids = (request) => ({ svids: [{ spiffe_id: request.spiffe_id, svid: token, hint: '' }] });
      const result = await sigil(['api', 'fetch', 'jwt', '--socket', fake.address, '--audience', 'billing', '--audience', 'audit', '--spiffe-id', 'spiffe://example.org/web']);
      assertExit(result, 0);
      assert.equal(result.stdout, `token(spiffe://example.org/web):\n\t${token}\n`);
      assert.deepEqual(fake.callsOf('FetchJWTSVID')[0]!.request, { audience: ['billing', 'audit'], spiffe_id: 'spiffe://example.org/web' });
    });

    it("fetch jwt takes SPIRE's -audience a,b and -spiffeID", async () => {
      const now = Math.floor(Date.now() / 1000);
      const token = await signJwtSvid(ca.keys, 'kid-1', { sub: 'spiffe://example.org/web', aud: ['a', 'b'], exp: now + 300, iat: now });
      fake.jwtSvids = () => ({ svids: [{ spiffe_id: 'spiffe://example.org/web', svid: token, hint: '' }] });
      assertExit(await sigil(['api', 'fetch', 'jwt', '-socketPath', fake.socketPath, '-audience', 'a,b', '-spiffeID', 'spiffe://example.org/web']), 0);
      assert.deepEqual(fake.callsOf('FetchJWTSVID')[0]!.request, { audience: ['a', 'b'], spiffe_id: 'spiffe://example.org/web' });
    });

    it('WL-31: fetch bundles prints PEM per trust domain', async () => {
      const partner = await createTestCa('partner.test');
      fake.x509Bundles = { bundles: { 'spiffe://example.org': Buffer.from(ca.der), 'spiffe://partner.test': Buffer.from(partner.der) }, crl: [] };
      const result = await sigil(['api', 'fetch', 'bundles', '--socket', fake.address]);
      assertExit(result, 0);
      const sections = result.stdout.split(/^# /m).filter(Boolean);
      assert.deepEqual(sections.map((section) => section.split('\n')[0]), ['spiffe://example.org', 'spiffe://partner.test']);
      assert.deepEqual(parseCertificatesPem(sections[1]!).map((cert) => new Uint8Array(cert.rawData)), [partner.der]);
    });

    it("WL-34: validate jwt prints the agent's SPIFFE ID and claims", async () => {
      fake.validateJwt = (request) => ({ spiffe_id: 'spiffe://example.org/web', claims: toProtoStruct({ sub: 'spiffe://example.org/web', aud: [request.audience], exp: 1900000000 }) });
      const result = await sigil(['api', 'validate', 'jwt', '--socket', fake.address, '--audience', 'billing', '--svid', 'header.payload.signature']);
      assertExit(result, 0);
      assert.match(result.stdout, /^SVID is valid\.\nSPIFFE ID : spiffe:\/\/example\.org\/web\nClaims +: \{"sub":"spiffe:\/\/example\.org\/web","aud":\["billing"\],"exp":1900000000\}\n$/);
      assert.deepEqual(fake.callsOf('ValidateJWTSVID')[0]!.request, { audience: 'billing', svid: 'header.payload.signature' });
    });

    it("WL-34: validate jwt exits 1 with the agent's reason when the token is refused", async () => {
      fake.validateJwt = () => ({ code: grpc.status.INVALID_ARGUMENT, details: 'token has expired' });
      const result = await sigil(['api', 'validate', 'jwt', '--socket', fake.address, '--audience', 'billing', '--svid', 'a.b.c']);
      assertExit(result, 1);
      assert.equal(result.stderr, 'Error: JWT-SVID is not valid: rpc error: code = InvalidArgument desc = token has expired\n');
    });
  });

  describe('watch', () => {
    it('WL-21: prints each update, rewrites the files, runs --exec after each write, and exits 0 on SIGTERM', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const dir = join(workDir, 'watched');
      const reloads = join(workDir, 'reloads.log');
      // The hook only counts a reload when the key is already there: files first, then --exec.
      const { child, lines, stderr, exited } = startWatch(['--socket', fake.address, '--write', dir, '--exec', `test -s '${join(dir, 'svid.key')}' && echo reloaded >> '${reloads}'`]);
      const reloadCount = () => (existsSync(reloads) ? readFileSync(reloads, 'utf8').split('\n').filter(Boolean).length : 0);
      const waitForReloads = async (count: number) => {
        for (let i = 0; i < 200 && reloadCount() < count; i++) await delay(25);
        assert.equal(reloadCount(), count, `--exec ran ${reloadCount()} times; stderr: ${stderr()}`);
      };
      const servedSerial = () => parseCertificatesPem(readFileSync(join(dir, 'svid.pem'), 'utf8'))[0]!.serialNumber.toLowerCase();

      try {
        assert.equal(await lines.next(10_000), `update: spiffe_id=spiffe://example.org/web serial=${web.serial} expires_at=${web.notAfter.toISOString().replace(/\.000Z$/, 'Z')}`);
        await waitForReloads(1);
        assert.equal(servedSerial(), web.serial);
        assert.equal(modeOf(join(dir, 'svid.key')), 0o600);

        const rotated = await mintTestSvid(ca, '/web');
        fake.pushX509(x509Response([x509SvidMessage(rotated, ca)]));
        assert.match(await lines.next(10_000), new RegExp(`^update: spiffe_id=spiffe://example\\.org/web serial=${rotated.serial} `));
        await waitForReloads(2);
        assert.equal(servedSerial(), rotated.serial);
        const verify = await runProcess('openssl', ['verify', '-CAfile', join(dir, 'bundle.pem'), join(dir, 'svid.pem')]);
        assertExit(verify, 0);
        assert.equal(fake.callsOf('FetchX509SVID').length, 1, 'one stream carried both updates');

        child.kill('SIGTERM');
        assert.equal(await exited, 0, `stderr: ${stderr()}`);
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });

    it('--exec runs only when what it wrote changed: the same SVID again, or another SVID of the uid rotating, runs nothing', async () => {
      const other = await mintTestSvid(ca, '/other');
      fake.x509 = x509Response([x509SvidMessage(other, ca), x509SvidMessage(web, ca)]);
      const dir = join(workDir, 'unchanged');
      const reloads = join(workDir, 'unchanged-reloads.log');
      const watch = startWatch(['--socket', fake.address, '--write', dir, '--spiffe-id', 'spiffe://example.org/web', '--exec', `echo reloaded >> '${reloads}'`]);
      try {
        assert.match(await watch.lines.next(10_000), new RegExp(`^update: spiffe_id=spiffe://example\\.org/web serial=${web.serial} .* svids=2$`));
        const rotatedOther = await mintTestSvid(ca, '/other');
        fake.pushX509(x509Response([x509SvidMessage(rotatedOther, ca), x509SvidMessage(web, ca)]));
        fake.pushX509(x509Response([x509SvidMessage(rotatedOther, ca), x509SvidMessage(web, ca)]));
        const rotated = await mintTestSvid(ca, '/web');
        fake.pushX509(x509Response([x509SvidMessage(rotatedOther, ca), x509SvidMessage(rotated, ca)]));
        assert.match(await watch.lines.next(10_000), new RegExp(`^update: spiffe_id=spiffe://example\\.org/web serial=${rotated.serial} `));
        for (let i = 0; i < 200 && (watch.stderr().match(/^wrote: /gm) ?? []).length < 2; i++) await delay(25);
        await delay(200);
        assert.deepEqual(readFileSync(reloads, 'utf8').split('\n').filter(Boolean), ['reloaded', 'reloaded'], `stderr: ${watch.stderr()}`);
        assert.equal((watch.stderr().match(/^wrote: /gm) ?? []).length, 2, 'two generations: the first and the rotation of the chosen SVID');
      } finally {
        assert.equal(await watch.stop(), 0);
      }
    });

    it('SIGTERM during a slow --exec ends the hook (its whole process group), starts no other, and exits 0', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const dir = join(workDir, 'slow-hook');
      const hookPid = join(workDir, 'hook.pid');
      const watch = startWatch(['--socket', fake.address, '--write', dir, '--exec', `echo $$ > '${hookPid}'; sleep 60`]);
      try {
        await watch.lines.next(10_000);
        for (let i = 0; i < 200 && !existsSync(hookPid); i++) await delay(25);
        const pid = Number(readFileSync(hookPid, 'utf8'));
        fake.pushX509(x509Response([x509SvidMessage(await mintTestSvid(ca, '/web'), ca)]));
        await watch.lines.next(10_000);
        const started = Date.now();
        watch.child.kill('SIGTERM');
        assert.equal(await watch.exited, 0, watch.stderr());
        assert.ok(Date.now() - started < 5_000, 'it did not wait for the hook');
        assert.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the hook is gone');
        assert.equal((watch.stderr().match(/^wrote: /gm) ?? []).length, 1, 'the update that waited was dropped, not written after the stop');
      } finally {
        await watch.stop();
      }
    });

    it('WL-05: InvalidArgument from the agent ends the watch with exit 1', async () => {
      fake.x509 = x509Response([x509SvidMessage(web, ca)]);
      const { child, lines, stderr, exited } = startWatch(['--socket', fake.address]);
      try {
        assert.match(await lines.next(10_000), /^update: spiffe_id=spiffe:\/\/example\.org\/web /);
        fake.failX509Streams({ code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' });
        assert.equal(await exited, 1);
        assert.equal(stderr(), 'watch error: rpc error: code = InvalidArgument desc = security header missing from request\n');
      } finally {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      }
    });
  });

  describe('addresses and usage', () => {
    const badSockets: [string, string][] = [
      ['tcp://foo', 'workload endpoint tcp socket URI host component must be an IP:port'],
      ['tcp://1.2.3.4', 'workload endpoint tcp socket URI host component must include a port'],
      ['tcp://1.2.3.4:5/path', 'workload endpoint tcp socket URI must not include a path'],
      ['unix://', 'workload endpoint unix socket URI must include a path'],
      ['unix:relative.sock', 'workload endpoint unix socket URI must not be opaque'],
      ['relative.sock', 'workload endpoint socket URI must have a "tcp" or "unix" scheme'],
    ];
    for (const [value, message] of badSockets) {
      it(`WL-11..WL-13: --socket ${value} exits 2 with "${message}"`, async () => {
        const result = await sigil(['api', 'fetch', 'x509', '--socket', value]);
        assertExit(result, 2);
        assert.ok(result.stderr.startsWith(`sigil api fetch x509: invalid value ${JSON.stringify(value)} for flag --socket: ${message}\n`), result.stderr);
        assert.equal(fake.calls.length, 0);
      });
    }

    it('WL-10: with neither --socket nor SPIFFE_ENDPOINT_SOCKET, exit 2 naming both', async () => {
      const result = await sigil(['api', 'watch']);
      assertExit(result, 2);
      assert.match(result.stderr, /no Workload API address: pass --socket .* or set SPIFFE_ENDPOINT_SOCKET/);
    });

    it('WL-11: a bad SPIFFE_ENDPOINT_SOCKET exits 2 with the variable and the reason', async () => {
      const result = await sigil(['api', 'fetch', 'bundles'], { SPIFFE_ENDPOINT_SOCKET: 'tcp://localhost:1' });
      assertExit(result, 2);
      assert.match(result.stderr, /SPIFFE_ENDPOINT_SOCKET="tcp:\/\/localhost:1": workload endpoint tcp socket URI host component must be an IP:port/);
    });

    it('fetch jwt without --audience is a usage error', async () => {
      const result = await sigil(['api', 'fetch', 'jwt', '--socket', fake.address]);
      assertExit(result, 2);
      assert.match(result.stderr, /missing required flag --audience/);
    });

    it('help lists the api commands and the SPIRE aliases', async () => {
      const group = await sigil(['api', '--help']);
      assertExit(group, 0);
      for (const command of ['sigil api fetch x509', 'sigil api fetch jwt', 'sigil api fetch bundles', 'sigil api validate jwt', 'sigil api watch']) {
        assert.ok(group.stdout.includes(command), `${command} in:\n${group.stdout}`);
      }
      const leafHelp = await sigil(['help', 'api', 'fetch', 'x509']);
      assertExit(leafHelp, 0);
      assert.match(leafHelp.stdout, /--socket ADDR .*also -socketPath/);
    });
  });
});
