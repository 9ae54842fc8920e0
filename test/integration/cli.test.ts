import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, makeTempDir, removeDir, repoRoot, runCli, runProcess, startSigilServer, type ProcessResult, type SigilServerProcess } from '../helpers/sigil-process.js';

const trustDomain = 'example.org';
const workloadId = 'spiffe://example.org/ns/web/sa/frontend';
const parentId = 'spiffe://example.org/agent/node-1';

interface EntryJson {
  id: string;
  spiffe_id: string;
  parent_id: string;
  selectors: { type: string; value: string }[];
  dns_names: string[];
  x509_svid_ttl: number;
}

function assertExit(result: ProcessResult, code: number): void {
  assert.equal(result.code, code, `exit code ${result.code}, expected ${code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`);
}

function jwtPayload(token: string): { sub?: string; aud?: string | string[]; exp?: number } {
  const parts = token.split('.');
  assert.equal(parts.length, 3, 'a JWT-SVID is a compact JWS with three parts (J-01)');
  return JSON.parse(Buffer.from(parts[1] ?? '', 'base64url').toString('utf8')) as { sub?: string; aud?: string | string[]; exp?: number };
}

/** The URI SANs in `openssl x509 -text` output. */
function uriSans(certificateText: string): string[] {
  const lines = certificateText.split('\n');
  const header = lines.findIndex((line) => line.includes('X509v3 Subject Alternative Name'));
  assert.notEqual(header, -1, 'the SVID has a Subject Alternative Name extension');
  return (lines[header + 1] ?? '')
    .split(',')
    .map((name) => name.trim())
    .filter((name) => name.startsWith('URI:'))
    .map((name) => name.slice('URI:'.length));
}

describe('sigil CLI against a real sigil server process', () => {
  let dataDir: string;
  let workDir: string;
  let server: SigilServerProcess | undefined;
  let env: Record<string, string>;
  let entryId: string;

  async function startServerOnFreePort(): Promise<SigilServerProcess> {
    const address = `127.0.0.1:${await freePort()}`;
    env = { SIGIL_TRUST_DOMAIN: trustDomain, SIGIL_DATA_DIR: dataDir, SIGIL_ADMIN_ADDR: address, SIGIL_LOG_LEVEL: 'warn' };
    return startSigilServer({ env, address, cwd: workDir });
  }

  const sigil = (...args: string[]) => runCli(args, { env, cwd: workDir });

  before(async () => {
    dataDir = makeTempDir('sigil-cli-data-');
    workDir = makeTempDir('sigil-cli-work-');
    server = await startServerOnFreePort();
  });

  after(async () => {
    await server?.stop('SIGKILL');
    removeDir(dataDir);
    removeDir(workDir);
  });

  it('healthcheck says the server is healthy', async () => {
    const result = await sigil('healthcheck');
    assertExit(result, 0);
    assert.equal(result.stdout.trim(), 'Server is healthy.');
  });

  it('entry create takes SPIRE spellings and splits selectors at the first colon', async () => {
    const result = await sigil('entry', 'create', '-spiffeID', workloadId, '-parentID', parentId, '-selector', 'k8s:ns:web', '--selector', 'unix:uid:1000', '-dns', 'web.example.org', '-x509SVIDTTL', '2h', '--output', 'json');
    assertExit(result, 0);
    const entry = JSON.parse(result.stdout) as EntryJson;
    assert.equal(entry.spiffe_id, workloadId);
    assert.equal(entry.parent_id, parentId);
    assert.deepEqual(entry.selectors, [
      { type: 'k8s', value: 'ns:web' },
      { type: 'unix', value: 'uid:1000' },
    ]);
    assert.deepEqual(entry.dns_names, ['web.example.org']);
    assert.equal(entry.x509_svid_ttl, 7200);
    entryId = entry.id;
    // k8s:ns is SPIRE's k8s attestor; a Sigil agent attests k8s:pod-uid only.
    assert.match(result.stderr, /^warning: no Sigil agent attests k8s:ns:web, so no workload of a Sigil agent matches this entry\. Agents attest unix:uid, unix:gid, .*container:id\.\n$/);
  });

  it('entry create with only attested selectors warns about nothing', async () => {
    const result = await sigil('entry', 'create', '--spiffe-id', `${workloadId}-2`, '--parent-id', parentId, '--selector', 'unix:uid:1000', '--selector', 'unix:sha256:00');
    assertExit(result, 0);
    assert.equal(result.stderr, '');
  });

  it('entry list and entry show print the entry in aligned blocks', async () => {
    const list = await sigil('entry', 'list', '--spiffe-id', workloadId);
    assertExit(list, 0);
    assert.match(list.stdout, /^Found 1 entry$/m);
    assert.match(list.stdout, new RegExp(`^Entry ID\\s+: ${entryId}$`, 'm'));
    assert.match(list.stdout, /^Selector\s+: k8s:ns:web$/m);

    const show = await sigil('entry', 'show', entryId);
    assertExit(show, 0);
    assert.match(show.stdout, new RegExp(`^SPIFFE ID\\s+: ${workloadId}$`, 'm'));
    const labelColumns = new Set(show.stdout.trim().split('\n').map((line) => line.indexOf(' : ')));
    assert.equal(labelColumns.size, 1, `every " : " is in one column:\n${show.stdout}`);
  });

  it('entry show of an unknown ID fails with the server message', async () => {
    const result = await sigil('entry', 'show', '--entry-id', '00000000-0000-4000-8000-000000000000');
    assertExit(result, 1);
    assert.match(result.stderr, /not found/);
  });

  it('the server refuses reserved IDs, over-long IDs (ID-14) and a TTL of 0; the CLI shows its message and writes nothing', async () => {
    const out = join(workDir, 'refused');
    const refusals: [string[], RegExp][] = [
      [['x509', 'mint', '--spiffe-id', `spiffe://${trustDomain}/sigil/server`, '-write', out], /spiffe_id: spiffe:\/\/example\.org\/sigil\/server is reserved/],
      [['jwt', 'mint', '--spiffe-id', `spiffe://${trustDomain}/sigil/agent/join_token/x`, '--audience', 'a'], /spiffe_id: .* is reserved/],
      [['entry', 'create', '--spiffe-id', `spiffe://${trustDomain}/sigil/server`, '--parent-id', parentId, '--selector', 'unix:uid:1'], /spiffe_id: .* is reserved/],
      [['entry', 'create', '--spiffe-id', `spiffe://${trustDomain}/${'a'.repeat(3000)}`, '--parent-id', parentId, '--selector', 'unix:uid:1'], /spiffe_id: invalid SPIFFE ID: SPIFFE ID is \d+ bytes; the maximum is 2048 bytes/],
      [['x509', 'mint', '--spiffe-id', workloadId, '--ttl', '0'], /ttl: must be at least 1s/],
    ];
    for (const [args, message] of refusals) {
      const result = await sigil(...args);
      assertExit(result, 1);
      assert.match(result.stderr, message, args.join(' '));
    }
    assert.equal(existsSync(out), false);
  });

  it('token generate prints a join token and its expiry', async () => {
    const result = await sigil('token', 'generate', '-ttl', '10m', '--name', 'node-1');
    assertExit(result, 0);
    assert.match(result.stdout, /^Token: sjt_\S+$/m);
    const expiry = /^Expires at: (\S+)$/m.exec(result.stdout)?.[1];
    const lifetime = Date.parse(expiry ?? '') - Date.now();
    assert.ok(lifetime > 9 * 60_000 && lifetime <= 10 * 60_000, `expires in 10 minutes, got ${expiry}`);
  });

  it('x509 mint --write writes an SVID that openssl verifies against the bundle (X-01, X-11, X-14, X-20)', async () => {
    const out = join(workDir, 'svid');
    const mint = await sigil('x509', 'mint', '--spiffe-id', workloadId, '--dns', 'web.example.org', '--ttl', '1h', '-write', out);
    assertExit(mint, 0);
    assert.match(mint.stdout, /X509-SVID written to .*svid\.pem/);
    assert.doesNotMatch(mint.stdout + mint.stderr, /PRIVATE KEY/, 'the key goes only into key.pem');
    assert.equal(statSync(join(out, 'key.pem')).mode & 0o777, 0o600);
    assert.equal(statSync(out).mode & 0o777, 0o700);

    const svid = join(out, 'svid.pem');
    const verify = await runProcess('openssl', ['verify', '-CAfile', join(out, 'bundle.pem'), '-untrusted', svid, svid]);
    assertExit(verify, 0);
    assert.match(verify.stdout, /: OK$/m);

    const text = await runProcess('openssl', ['x509', '-in', svid, '-noout', '-text']);
    assertExit(text, 0);
    assert.deepEqual(uriSans(text.stdout), [workloadId]);
    assert.match(text.stdout, /CA:FALSE/);
    assert.match(text.stdout, /X509v3 Key Usage: critical/);

    const certKey = await runProcess('openssl', ['x509', '-in', svid, '-noout', '-pubkey']);
    const privateKey = await runProcess('openssl', ['pkey', '-in', join(out, 'key.pem'), '-pubout']);
    assertExit(privateKey, 0);
    assert.equal(privateKey.stdout, certKey.stdout, 'key.pem holds the key of the SVID');
  });

  it('x509 sign --csr signs your CSR as an SVID that openssl verifies; the key never leaves you (X-01)', async () => {
    const out = join(workDir, 'signed');
    const csr = join(workDir, 'own.csr');
    assertExit(await runProcess('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(workDir, 'own.key'), '-out', csr, '-subj', '/CN=own']), 0);
    const signed = await sigil('x509', 'sign', '--csr', csr, '--spiffe-id', workloadId, '--ttl', '30m', '-write', out);
    assertExit(signed, 0);
    assert.match(signed.stdout, /X509-SVID written to .*svid\.pem\nRoot CAs written to .*bundle\.pem/);
    const svid = join(out, 'svid.pem');
    assertExit(await runProcess('openssl', ['verify', '-CAfile', join(out, 'bundle.pem'), svid]), 0);
    const certKey = await runProcess('openssl', ['x509', '-in', svid, '-noout', '-pubkey']);
    const ownKey = await runProcess('openssl', ['pkey', '-in', join(workDir, 'own.key'), '-pubout']);
    assert.equal(certKey.stdout, ownKey.stdout);
    const missing = await sigil('x509', 'sign', '--csr', join(workDir, 'nope.csr'), '--spiffe-id', workloadId);
    assertExit(missing, 1);
    assert.match(missing.stderr, /cannot read --csr .*nope\.csr/);
  });

  it('jwt mint prints a JWT-SVID for the SPIFFE ID and audiences (J-06, J-07)', async () => {
    const result = await sigil('jwt', 'mint', '-spiffeID', workloadId, '-audience', 'api', '--audience', 'db');
    assertExit(result, 0);
    const claims = jwtPayload(result.stdout.trim());
    assert.equal(claims.sub, workloadId);
    assert.deepEqual(claims.aud, ['api', 'db']);
    assert.ok((claims.exp ?? 0) * 1000 > Date.now(), 'exp is in the future');
  });

  it('a missing token file fails with the 401 message of the server', async () => {
    const result = await sigil('entry', 'list', '--token-file', join(workDir, 'no-such-token'));
    assertExit(result, 1);
    assert.match(result.stderr, /missing bearer token/);
  });

  it('a wrong token fails with the 401 message and is not echoed', async () => {
    const tokenFile = join(workDir, 'wrong.token');
    writeFileSync(tokenFile, 'sat_not-a-real-token\n', { mode: 0o600 });
    const result = await sigil('entry', 'list', '--token-file', tokenFile);
    assertExit(result, 1);
    assert.match(result.stderr, /invalid bearer token/);
    assert.doesNotMatch(result.stderr, /not-a-real-token/);
  });

  it('state survives a SIGTERM and a restart on the same data dir', async () => {
    const bundle = await sigil('bundle', 'show');
    assertExit(bundle, 0);
    const bundleBefore = bundle.stdout;
    assert.match(bundleBefore, /^-----BEGIN CERTIFICATE-----$/m);

    const stopped = await server?.stop('SIGTERM');
    assert.deepEqual(stopped, { code: 0, signal: null }, 'server run exits 0 on SIGTERM');
    const oldTokenFile = join(dataDir, 'admin.token');
    const oldToken = readFileSync(oldTokenFile, 'utf8');
    server = await startServerOnFreePort();

    assert.equal(readFileSync(oldTokenFile, 'utf8'), oldToken, 'the bootstrap token is written once');
    const bundleAfter = await sigil('bundle', 'show');
    assertExit(bundleAfter, 0);
    assert.equal(bundleAfter.stdout, bundleBefore, 'same CA certificate after the restart');

    const show = await sigil('entry', 'show', '--entry-id', entryId, '--token-file', oldTokenFile, '--output', 'json');
    assertExit(show, 0);
    assert.equal((JSON.parse(show.stdout) as EntryJson).spiffe_id, workloadId);
  });

  it('a lost admin.token is recovered from the data dir with `sigil server token create`, while the server runs', async () => {
    rmSync(join(dataDir, 'admin.token'));
    const lost = await sigil('entry', 'list');
    assertExit(lost, 1);
    const recovered = join(workDir, 'recovered.token');
    const created = await sigil('server', 'token', 'create', '--name', 'recovery', '--write', recovered);
    assertExit(created, 0);
    assert.equal(statSync(recovered).mode & 0o777, 0o600);
    const list = await sigil('entry', 'list', '--token-file', recovered, '--output', 'json');
    assertExit(list, 0);
    const viewer = await sigil('server', 'token', 'create', '--role', 'viewer');
    assertExit(viewer, 0);
    writeFileSync(join(workDir, 'viewer.token'), viewer.stdout);
    const denied = await sigil('token', 'generate', '--token-file', join(workDir, 'viewer.token'));
    assertExit(denied, 1);
    assert.match(denied.stderr, /role viewer/);
    const wrongDir = await runCli(['server', 'token', 'create'], { env: { ...env, SIGIL_DATA_DIR: workDir }, cwd: workDir });
    assertExit(wrongDir, 1);
    assert.match(wrongDir.stderr, /no Sigil database at/);
  });
});

describe('sigil CLI usage and startup errors', () => {
  let workDir: string;

  before(() => {
    workDir = makeTempDir('sigil-cli-usage-');
  });

  after(() => {
    removeDir(workDir);
  });

  it('an unknown flag exits 2 and names the flag', async () => {
    const result = await runCli(['entry', 'create', '--spiffe-idd', workloadId]);
    assertExit(result, 2);
    assert.match(result.stderr, /unknown flag --spiffe-idd/);
  });

  it('a misspelt SPIRE flag exits 2 and names it as written', async () => {
    const result = await runCli(['entry', 'create', '-spiffeId', workloadId]);
    assertExit(result, 2);
    assert.match(result.stderr, /unknown flag -spiffeId\b/);
  });

  it('an unknown command exits 2', async () => {
    const result = await runCli(['entri', 'list']);
    assertExit(result, 2);
    assert.match(result.stderr, /unknown command "sigil entri"/);
  });

  it('a selector without a colon exits 2 and names --selector', async () => {
    const result = await runCli(['entry', 'create', '--spiffe-id', workloadId, '--parent-id', parentId, '--selector', 'unix']);
    assertExit(result, 2);
    assert.match(result.stderr, /--selector/);
  });

  it('--help exits 0 and lists every flag of the command', async () => {
    const result = await runCli(['entry', 'create', '--help']);
    assertExit(result, 0);
    for (const flag of ['--spiffe-id', '--parent-id', '--selector', '--dns', '--x509-svid-ttl', '--jwt-svid-ttl', '--hint', '--admin', '--server-addr', '--token-file', '--config', '--output']) {
      assert.ok(result.stdout.includes(flag), `help mentions ${flag}`);
    }
    const top = await runCli(['-h']);
    assertExit(top, 0);
    assert.match(top.stdout, /sigil x509 mint/);
  });

  it('--version prints the version of package.json and exits 0', async () => {
    const result = await runCli(['--version']);
    assertExit(result, 0);
    const { version } = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    assert.equal(result.stdout, `sigil ${version}\n`);
  });

  it("a port that Node's fetch blocks is named as such, not as a bare \"bad port\"", async () => {
    const result = await runCli(['entry', 'list', '--server-addr', '127.0.0.1:1']);
    assertExit(result, 1);
    assert.match(result.stderr, /^Error: cannot reach the Sigil server at 127\.0\.0\.1:1: Node's fetch never connects to port 1 \(one of the ports the Fetch standard blocks/);
  });

  it('a client command exits 1 when it cannot reach the server', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const list = await runCli(['entry', 'list', '--server-addr', address]);
    assertExit(list, 1);
    assert.match(list.stderr, new RegExp(`cannot reach the Sigil server at ${address}`));
    const health = await runCli(['healthcheck', '--server-addr', address]);
    assertExit(health, 1);
    assert.match(health.stderr, /^Server is unhealthy: /m);
  });

  it('server run exits 1 and names an unknown config key', async () => {
    const configFile = join(workDir, 'server.yaml');
    writeFileSync(configFile, `trust_domain: ${trustDomain}\ndata_dir: ./data\nadmin_addr: 127.0.0.1:0\nlisten_port: 9\n`);
    const result = await runCli(['server', 'run', '--config', configFile], { cwd: workDir });
    assertExit(result, 1);
    assert.match(result.stderr, /listen_port: unknown key/);
  });

  it('server run without a trust domain exits 1 and says trust_domain is required', async () => {
    const result = await runCli(['server', 'run'], { cwd: workDir, env: { SIGIL_DATA_DIR: join(workDir, 'data') } });
    assertExit(result, 1);
    assert.match(result.stderr, /trust_domain: required/);
  });
});
