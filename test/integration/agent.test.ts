import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pemEncode } from '../../src/pki/pem.js';
import * as grpc from '@grpc/grpc-js';
import type { X509SvidResponse } from '../../src/common/grpc/workload-api-types.js';
import { freePort, makeTempDir, removeDir, repoRoot, runProcess, startSigilAgent, startSigilServer, type SigilAgentProcess, type SigilServerProcess } from '../helpers/sigil-process.js';
import { grpcCallAsUid } from '../helpers/grpc-as-uid.js';
import { StreamRecorder, fetchJwt, firstMessage, rawWorkloadClient, securityHeader, splitDer, validateJwt, type RawWorkloadClient } from '../helpers/raw-workload-client.js';

// Real `sigil server run` and `sigil agent run` processes, a real unix socket, and a gRPC client
// built from the spec proto. Nothing is mocked.

const pem = (der: Buffer) => pemEncode('CERTIFICATE', der);
const nobody = 65534;

describe('sigil agent: Workload API over a real unix socket', () => {
  let dir: string;
  let server: SigilServerProcess;
  let agent: SigilAgentProcess;
  let client: RawWorkloadClient;
  let adminToken: string;
  let agentSpiffeId: string;
  let serverEnv: Record<string, string>;
  const socketDir = () => join(dir, 'sock');
  const socketPath = () => join(socketDir(), 'api.sock');

  async function api<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`http://${server.address}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, ...(body !== undefined && { 'content-type': 'application/json' }) },
      ...(body !== undefined && { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  }

  async function createEntry(path: string, selector: string, extra: Record<string, unknown> = {}): Promise<string> {
    const [type, ...value] = selector.split(':');
    const res = await api<{ id: string }>('POST', '/v1/entries', { spiffe_id: `spiffe://example.org/${path}`, parent_id: agentSpiffeId, selectors: [{ type, value: value.join(':') }], ...extra });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.id;
  }

  /** FetchX509SVID from a child process running as another uid. */
  const fetchAsUid = (uid: number) => grpcCallAsUid({ uid, socketPath: socketPath(), api: 'workload', method: 'FetchX509SVID', workDir: dir });

  /** Like go-spiffe's watcher: PermissionDenied is retried with backoff until the identity exists. */
  async function waitForIdentity(spiffeId: string): Promise<void> {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const m = await firstMessage(client.FetchX509SVID({}, securityHeader()), 5000);
        if (m.svids.some((s) => s.spiffe_id === spiffeId)) return;
      } catch (err) {
        if ((err as grpc.ServiceError).code !== grpc.status.PERMISSION_DENIED || Date.now() > deadline) throw err;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  before(async () => {
    dir = makeTempDir('sigil-agent-test-');
    chmodSync(dir, 0o755);
    mkdirSync(socketDir(), { mode: 0o755 });
    serverEnv = {
      SIGIL_TRUST_DOMAIN: 'example.org',
      SIGIL_DATA_DIR: join(dir, 'server'),
      SIGIL_ADMIN_ADDR: `127.0.0.1:${await freePort()}`,
      SIGIL_AGENT_API_ADDR: `127.0.0.1:${await freePort()}`,
      SIGIL_LOG_LEVEL: 'warn',
    };
    server = await startSigilServer({ env: serverEnv, address: serverEnv.SIGIL_ADMIN_ADDR as string });
    adminToken = readFileSync(join(dir, 'server', 'admin.token'), 'utf8').trim();
    writeFileSync(join(dir, 'bundle.pem'), await (await fetch(`http://${server.address}/v1/bundle?format=pem`)).text());
    const token = (await api<{ token: string }>('POST', '/v1/join-tokens', { ttl: '5m' })).body.token;
    agent = await startSigilAgent({
      args: ['--join-token', token, '--server-address', server.agentApiAddress, '--trust-bundle', join(dir, 'bundle.pem')],
      env: { SIGIL_LOG_LEVEL: 'info' },
      socketPath: socketPath(),
      dataDir: join(dir, 'agent'),
    });
    const agents = (await api<{ agents: { spiffe_id: string }[] }>('GET', '/v1/agents')).body.agents;
    assert.equal(agents.length, 1);
    agentSpiffeId = agents[0]?.spiffe_id as string;
    client = rawWorkloadClient(socketPath());
  });

  after(async () => {
    client?.close();
    await agent?.stop();
    await server?.stop();
    removeDir(dir);
  });

  it('prints SPIFFE_ENDPOINT_SOCKET and the agent SPIFFE ID does not reveal the join token', () => {
    assert.match(agent.stdout(), new RegExp(`SPIFFE_ENDPOINT_SOCKET=unix://${socketPath().replace(/[.]/g, '\\.')}`));
    assert.match(agentSpiffeId, /^spiffe:\/\/example\.org\/sigil\/agent\/join_token\/[0-9a-f-]{36}$/);
    assert.ok(!agent.stderr().includes('sjt_'), 'the join token is not logged');
  });

  it('persists its key and SVID (one file) and bundle with mode 0600 in a 0700 folder', () => {
    assert.equal(execFileSync('stat', ['-c', '%a', join(dir, 'agent')], { encoding: 'utf8' }).trim(), '700');
    for (const f of ['agent-identity.json', 'bundle.json']) {
      const mode = execFileSync('stat', ['-c', '%a', join(dir, 'agent', f)], { encoding: 'utf8' }).trim();
      assert.equal(mode, '600', f);
    }
  });

  it('WL-02: a request without the security header gets InvalidArgument', async () => {
    await assert.rejects(firstMessage(client.FetchX509SVID({})), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && err.details === 'security header missing from request');
  });

  it('WL-30: a caller with no entry gets PermissionDenied "no identity issued"', async () => {
    const result = await fetchAsUid(nobody);
    assert.deepEqual(result, { ok: false, code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
  });

  it('WL-30: the current uid gets its X509-SVID, and openssl verifies the chain against the returned bundle', async () => {
    const started = Date.now();
    await createEntry('workload/root', `unix:uid:${process.getuid?.()}`);
    // Until the entry reaches the agent the caller has no identity (WL-30), and retries as go-spiffe does.
    await waitForIdentity('spiffe://example.org/workload/root');
    const elapsed = Date.now() - started;
    assert.ok(elapsed < 5000, `entry to SVID took ${elapsed} ms`);
    const message = await firstMessage(client.FetchX509SVID({}, securityHeader()));
    assert.equal(message.svids.length, 1);
    const svid = message.svids[0] as X509SvidResponse['svids'][number];
    assert.equal(svid.spiffe_id, 'spiffe://example.org/workload/root');
    const chain = splitDer(svid.x509_svid);
    writeFileSync(join(dir, 'svid.pem'), chain.map(pem).join(''));
    writeFileSync(join(dir, 'returned-bundle.pem'), splitDer(svid.bundle).map(pem).join(''));
    const verify = await runProcess('openssl', ['verify', '-CAfile', join(dir, 'returned-bundle.pem'), join(dir, 'svid.pem')]);
    assert.match(verify.stdout, /svid\.pem: OK/, verify.stderr);
    // The key is PKCS#8 DER and belongs to the leaf.
    writeFileSync(join(dir, 'svid.key.der'), svid.x509_svid_key);
    const keyPub = await runProcess('openssl', ['pkey', '-inform', 'DER', '-in', join(dir, 'svid.key.der'), '-pubout']);
    const certPub = await runProcess('openssl', ['x509', '-in', join(dir, 'svid.pem'), '-noout', '-pubkey']);
    assert.equal(keyPub.stdout, certPub.stdout);
  });

  it('a process under another uid gets that uid\'s SVID', async () => {
    await createEntry('workload/nobody', `unix:uid:${nobody}`);
    const deadline = Date.now() + 10_000;
    let result = await fetchAsUid(nobody);
    while (!result.ok && Date.now() < deadline) result = await fetchAsUid(nobody);
    assert.deepEqual(result, { ok: true, spiffeIds: ['spiffe://example.org/workload/nobody'] });
  });

  it('/metrics exposes absolute expiry timestamps and bounded-cardinality counts (no series per SVID)', async () => {
    const text = await (await fetch(`http://${agent.healthAddress}/metrics`)).text();
    const agentExpiry = Number(/^sigil_agent_svid_not_after_timestamp_seconds (\d+)$/m.exec(text)?.[1]);
    assert.ok(agentExpiry > Date.now() / 1000 && agentExpiry < Date.now() / 1000 + 2 * 3600, `agent SVID expiry ${agentExpiry}`);
    const earliest = Number(/^sigil_agent_workload_svid_earliest_not_after_timestamp_seconds (\d+)$/m.exec(text)?.[1]);
    assert.ok(earliest > Date.now() / 1000, `earliest workload SVID expiry ${earliest}`);
    assert.match(text, /^sigil_agent_workload_svids_expiring_within_seconds\{within="86400"\} [1-9]\d*$/m);
    assert.match(text, /^sigil_agent_revocation_problems 0$/m);
    assert.match(text, /^sigil_agent_entries_without_svid 0$/m);
    assert.doesNotMatch(text, /spiffe_id=/, 'no label holds a SPIFFE ID: one series per SVID does not scale to 10k SVIDs');
    const ready = await fetch(`http://${agent.healthAddress}/ready`);
    assert.equal(ready.status, 200);
  });

  it('WL-33/WL-31: bundles are keyed by the trust domain SPIFFE ID; JWT bundles carry kid', async () => {
    const x509 = await firstMessage(client.FetchX509Bundles({}, securityHeader()));
    assert.deepEqual(Object.keys(x509.bundles), ['spiffe://example.org']);
    const jwt = await firstMessage(client.FetchJWTBundles({}, securityHeader()));
    const jwks = JSON.parse((jwt.bundles['spiffe://example.org'] as Buffer).toString('utf8')) as { keys: { kid?: string; use?: string }[] };
    assert.ok(jwks.keys.length >= 1);
    assert.ok(jwks.keys.every((k) => k.kid && k.use === undefined));
  });

  it('WL-35: WIT RPCs are Unimplemented', async () => {
    await assert.rejects(firstMessage(client.FetchWITSVID({}, securityHeader())), (err: grpc.ServiceError) => err.code === grpc.status.UNIMPLEMENTED);
  });

  it('JWT: fetch, validate through the agent; tampered and wrong-audience tokens are rejected', async () => {
    const res = await fetchJwt(client, ['billing']);
    const token = res.svids[0]?.svid as string;
    assert.equal(res.svids[0]?.spiffe_id, 'spiffe://example.org/workload/root');
    const valid = await validateJwt(client, 'billing', token);
    assert.equal(valid.spiffe_id, 'spiffe://example.org/workload/root');
    assert.equal(valid.claims?.fields.sub?.stringValue, 'spiffe://example.org/workload/root');
    await assert.rejects(validateJwt(client, 'payments', token), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /expected audience in \["payments"\]/.test(err.details));
    const [h, p, s] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8')) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, sub: 'spiffe://example.org/admin' })).toString('base64url')}.${s}`;
    await assert.rejects(validateJwt(client, 'billing', forged), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && /cryptographic/.test(err.details));
    await assert.rejects(fetchJwt(client, []), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && err.details === 'audience must be specified');
    await assert.rejects(fetchJwt(client, ['x'], 'spiffe://example.org/not-mine'), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED);
  });

  it('the built-in helper: `sigil api fetch x509 --write` against the real agent, verified by openssl; jwt fetch and validate', async () => {
    const env = { SPIFFE_ENDPOINT_SOCKET: `unix://${socketPath()}` };
    const out = join(dir, 'helper-out');
    const fetched = await runProcess(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'api', 'fetch', 'x509', '--write', out], { env });
    assert.equal(fetched.code, 0, fetched.stderr);
    assert.match(fetched.stdout, /spiffe:\/\/example\.org\/workload\/root/);
    const verify = await runProcess('openssl', ['verify', '-CAfile', join(out, 'bundle.pem'), join(out, 'svid.pem')]);
    assert.match(verify.stdout, /OK/, verify.stderr);
    assert.equal(execFileSync('stat', ['-c', '%a', join(out, 'svid.key')], { encoding: 'utf8' }).trim(), '600');
    const jwt = await runProcess(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'api', 'fetch', 'jwt', '--audience', 'billing', '--output', 'json'], { env });
    assert.equal(jwt.code, 0, jwt.stderr);
    const token = /eyJ[\w-]+\.[\w-]+\.[\w-]+/.exec(jwt.stdout)?.[0] as string;
    const valid = await runProcess(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'api', 'validate', 'jwt', '--audience', 'billing', '--svid', token], { env });
    assert.equal(valid.code, 0, valid.stderr);
    assert.match(valid.stdout, /SVID is valid/);
    const invalid = await runProcess(process.execPath, [join(repoRoot, 'dist/src/cli/main.js'), 'api', 'validate', 'jwt', '--audience', 'other', '--svid', token], { env });
    assert.equal(invalid.code, 1);
    assert.match(invalid.stderr, /expected audience in \["other"\]/);
  });

  it('a new entry reaches an open stream; deleting the entries ends it with PermissionDenied', async () => {
    const recorder = new StreamRecorder(client.FetchX509SVID({}, securityHeader()));
    await recorder.until((r) => r.messages.length >= 1, 10_000, 'first message');
    const added = await createEntry('workload/root-second', `unix:uid:${process.getuid?.()}`);
    await recorder.until((r) => r.messages.some((m) => m.message.svids.some((s) => s.spiffe_id === 'spiffe://example.org/workload/root-second')), 5000, 'the new entry on the stream');
    const last = recorder.messages[recorder.messages.length - 1]?.message as X509SvidResponse;
    assert.equal(last.svids[0]?.spiffe_id, 'spiffe://example.org/workload/root', 'WL-30: the oldest entry stays the default identity');
    // Remove every entry of this uid: the stream ends with PermissionDenied (WL-30).
    const mine = (await api<{ entries: { id: string }[] }>('GET', `/v1/entries?selector=unix:uid:${process.getuid?.()}`)).body.entries;
    assert.ok(mine.some((e) => e.id === added));
    for (const e of mine) assert.equal((await api('DELETE', `/v1/entries/${e.id}`)).status, 204);
    await recorder.until((r) => r.error !== undefined, 5000, 'the stream to end');
    assert.equal(recorder.error?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(recorder.error?.details, 'no identity issued');
  });

  it('rotation with a 4 s TTL: every new SVID arrives before the previous one reaches half-life', async () => {
    await createEntry('workload/rotating', `unix:uid:${process.getuid?.()}`, { x509_svid_ttl: 4 });
    await waitForIdentity('spiffe://example.org/workload/rotating');
    const recorder = new StreamRecorder(client.FetchX509SVID({}, securityHeader()));
    const serials = () => [...new Set(recorder.messages.map((m) => m.message.svids[0]?.x509_svid.toString('base64')))];
    await recorder.until(() => serials().length >= 3, 15_000, 'two rotations');
    recorder.close();
    const { X509Certificate } = await import('node:crypto');
    let previous: { notBefore: number; notAfter: number } | undefined;
    for (const { at, message } of recorder.messages) {
      const leaf = new X509Certificate(splitDer(message.svids[0]?.x509_svid as Buffer)[0] as Buffer);
      const current = { notBefore: new Date(leaf.validFrom).getTime(), notAfter: new Date(leaf.validTo).getTime() };
      if (previous && current.notAfter !== previous.notAfter) {
        // validFrom/validTo have one-second resolution: allow for it.
        const halfLife = (previous.notBefore + previous.notAfter) / 2;
        assert.ok(at <= halfLife + 1000, `new SVID received ${at - halfLife} ms after the previous one's half-life`);
      }
      previous = current;
    }
  });

  it('keeps serving while the server is down and catches up when it is back', async () => {
    await createEntry('workload/long-lived', `unix:uid:${process.getuid?.()}`, { x509_svid_ttl: '1h' });
    await waitForIdentity('spiffe://example.org/workload/long-lived');
    const recorder = new StreamRecorder(client.FetchX509SVID({}, securityHeader()));
    await recorder.until((r) => r.messages.length >= 1, 10_000, 'first message');
    await server.stop();
    const whileDown = await firstMessage(client.FetchX509SVID({}, securityHeader()));
    assert.ok(whileDown.svids.some((s) => s.spiffe_id === 'spiffe://example.org/workload/long-lived'));
    server = await startSigilServer({ env: serverEnv, address: serverEnv.SIGIL_ADMIN_ADDR as string });
    await createEntry('workload/after-restart', `unix:uid:${process.getuid?.()}`);
    await recorder.until((r) => r.messages.some((m) => m.message.svids.some((s) => s.spiffe_id === 'spiffe://example.org/workload/after-restart')), 15_000, 'the entry created after the restart');
    recorder.close();
  });

  it('a restarted agent uses its saved SVID: no join token needed', async () => {
    await agent.stop();
    agent = await startSigilAgent({ args: ['--server-address', server.agentApiAddress], env: { SIGIL_LOG_LEVEL: 'info' }, socketPath: socketPath(), dataDir: join(dir, 'agent') });
    assert.match(agent.stderr(), /loaded the agent SVID from disk; no attestation needed/);
    client.close();
    client = rawWorkloadClient(socketPath());
    const message = await firstMessage(client.FetchX509SVID({}, securityHeader()));
    assert.ok(message.svids.length >= 1);
  });

  it('a banned agent deletes its SVIDs and serves nothing', async () => {
    const agentId = agentSpiffeId.split('/').pop() as string;
    assert.equal((await api('POST', `/v1/agents/${agentId}/ban`, {})).status, 200);
    const deadline = Date.now() + 10_000;
    let lastError: grpc.ServiceError | undefined;
    while (Date.now() < deadline) {
      try {
        await firstMessage(client.FetchX509SVID({}, securityHeader()), 2000);
      } catch (err) {
        lastError = err as grpc.ServiceError;
        if (lastError.code === grpc.status.PERMISSION_DENIED) break;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    assert.equal(lastError?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(existsSync(join(dir, 'agent', 'agent-key.pem')), false, 'the agent key is deleted');
    const ready = await fetch(`http://${agent.healthAddress}/ready`);
    assert.equal(ready.status, 503);
  });
});
