import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { chmodSync, chownSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import { ExecutableHashCache } from '../../src/agent/attestation/executable-hash.js';
import { JwtSvidCache } from '../../src/agent/cache/jwt-svid-cache.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { serveAdminSocket, type AdminSocket } from '../../src/agent/endpoints/delegated/admin-socket.js';
import type {
  FetchJwtSvidsResponse,
  SubscribeToJwtBundlesResponse,
  SubscribeToX509BundlesResponse,
  SubscribeToX509SvidsResponse,
  X509SvidWithKey,
} from '../../src/agent/endpoints/delegated/messages.js';
import type { DelegateScopeConfig } from '../../src/agent/config.js';
import { systemClock } from '../../src/common/clock.js';
import { delegatedIdentityService } from '../../src/common/grpc/protos.js';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { concatDer } from '../../src/pki/pem.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { makeTempDir, removeDir, repoRoot } from '../helpers/sigil-process.js';
import { StreamRecorder, firstMessage, splitDer } from '../helpers/raw-workload-client.js';

// A real server and agent in one process, real sockets, real kernel peer credentials. The test
// process (root) is the delegate; other callers are child processes under other uids.

const td = 'example.org';
const id = (path: string) => `spiffe://${td}/${path}`;
const podA = '0f3c5c3e-1a2b-4c5d-8e9f-00000000000a';
const podScoped = '0f3c5c3e-1a2b-4c5d-8e9f-00000000000b';
const podLate = '0f3c5c3e-1a2b-4c5d-8e9f-00000000000c';
/** Group that owns the admin socket, as an operator grants a delegate access to it. */
const socketGroup = 65534;
const pidWorkloadUid = 1001;
const childDelegateUid = 1002;
const nobody = 65534;
const noEntryUid = 65533;

interface DelegatedIdentityClient extends grpc.Client {
  SubscribeToX509SVIDs(req: object): grpc.ClientReadableStream<SubscribeToX509SvidsResponse>;
  SubscribeToX509Bundles(req: object): grpc.ClientReadableStream<SubscribeToX509BundlesResponse>;
  SubscribeToJWTBundles(req: object): grpc.ClientReadableStream<SubscribeToJwtBundlesResponse>;
  FetchJWTSVIDs(req: object, cb: (err: grpc.ServiceError | null, res?: FetchJwtSvidsResponse) => void): void;
}

/** A client made straight from SPIRE's proto, as Cilium's is: no Sigil client code in between. */
function delegateClient(path: string): DelegatedIdentityClient {
  const Client = delegatedIdentityService() as unknown as new (address: string, creds: grpc.ChannelCredentials) => DelegatedIdentityClient;
  return new Client(`unix://${path}`, grpc.credentials.createInsecure());
}

const svidIds = (m: SubscribeToX509SvidsResponse) => m.x509_svids.map((s) => `spiffe://${s.x509_svid.id.trust_domain}${s.x509_svid.id.path}`).sort();

function fetchJwtSvids(client: DelegatedIdentityClient, req: object): Promise<FetchJwtSvidsResponse> {
  return new Promise((resolve, reject) => client.FetchJWTSVIDs(req, (err, res) => (err ? reject(err) : resolve(res as FetchJwtSvidsResponse))));
}

const grpcError = (code: grpc.status, details: string) => (err: unknown) => {
  assert.equal((err as grpc.ServiceError).code, code, (err as Error).message);
  assert.equal((err as grpc.ServiceError).details, details);
  return true;
};

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

type ChildEvent = { data?: string[]; error?: { code: number; details: string } };

/**
 * A delegate client in a child process under another uid (kernel peer credentials are the only
 * identity that counts). Prints one JSON line per message (the SPIFFE IDs or map keys it holds)
 * and one for the final error.
 */
class ChildDelegate {
  private readonly child: ChildProcess;
  private readonly events: ChildEvent[] = [];
  private wake: (() => void) | undefined;
  private stderr = '';

  constructor(script: string, uid: number, gid: number, socketPath: string, method: string, request: object) {
    this.child = spawn('setpriv', [`--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, script, socketPath, method, JSON.stringify(request)], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stderr?.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    createInterface({ input: this.child.stdout as NodeJS.ReadableStream }).on('line', (line) => {
      this.events.push(JSON.parse(line) as ChildEvent);
      this.wake?.();
    });
  }

  async next(timeoutMs = 10_000): Promise<ChildEvent> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length === 0) {
      if (Date.now() > deadline) throw new Error(`no output from the child delegate within ${timeoutMs} ms; stderr: ${this.stderr}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 50);
      });
    }
    return this.events.shift() as ChildEvent;
  }

  stop(): void {
    this.child.kill('SIGTERM');
  }
}

function childScript(dir: string): string {
  const path = join(dir, 'delegate-client.mjs');
  writeFileSync(
    path,
    `import { createRequire } from 'node:module';
import { delegatedIdentityService } from ${JSON.stringify(join(repoRoot, 'dist/src/common/grpc/protos.js'))};
const grpc = createRequire(${JSON.stringify(join(repoRoot, 'package.json'))})('@grpc/grpc-js');
const [socketPath, method, request] = process.argv.slice(2);
const Client = delegatedIdentityService();
const client = new Client('unix://' + socketPath, grpc.credentials.createInsecure());
const print = (o) => process.stdout.write(JSON.stringify(o) + '\\n');
const summary = (m) => m.x509_svids ? m.x509_svids.map((s) => 'spiffe://' + s.x509_svid.id.trust_domain + s.x509_svid.id.path)
  : m.svids ? m.svids.map((s) => 'spiffe://' + s.id.trust_domain + s.id.path) : Object.keys(m.ca_certificates ?? m.bundles);
const fail = (e) => { print({ error: { code: e.code, details: e.details } }); process.exit(0); };
if (method === 'FetchJWTSVIDs') {
  client.FetchJWTSVIDs(JSON.parse(request), (e, m) => { if (e) fail(e); print({ data: summary(m) }); process.exit(0); });
} else {
  const stream = client[method](JSON.parse(request));
  stream.on('data', (m) => print({ data: summary(m) }));
  stream.on('error', fail);
}
`,
  );
  chmodSync(path, 0o644);
  return path;
}

describe('Delegated Identity API on the admin socket (spec §6, consumers §6.1)', () => {
  let dir: string;
  let server: RunningServer;
  let agent: RunningAgent;
  let adminSocket: AdminSocket;
  let scopedSocket: AdminSocket;
  let client: DelegatedIdentityClient;
  let scopedClient: DelegatedIdentityClient;
  let script: string;
  let pidWorkload: ChildProcess;
  const entryIds = new Map<string, string>();
  const adminPath = () => join(dir, 'admin', 'admin.sock');
  const scopedPath = () => join(dir, 'admin-scoped', 'admin.sock');

  function createEntry(path: string, selectors: string[], extra: { admin?: boolean; hint?: string } = {}): string {
    const now = Date.now();
    const entryId = server.store.transaction(() => {
      const entry = server.store.entries.create(
        {
          spiffeId: id(path),
          parentId: agent.node.identity?.spiffeId as string,
          selectors: selectors.map((s) => ({ type: s.slice(0, s.indexOf(':')), value: s.slice(s.indexOf(':') + 1) })),
          dnsNames: [],
          x509SvidTtl: 3600,
          jwtSvidTtl: 300,
          hint: extra.hint ?? '',
          admin: extra.admin ?? false,
        },
        now,
      );
      server.store.events.append(now, 'entry.created', entry.id);
      return entry.id;
    });
    entryIds.set(path, entryId);
    return entryId;
  }

  function deleteEntry(path: string): void {
    const now = Date.now();
    server.store.transaction(() => {
      server.store.entries.delete(entryIds.get(path) as string);
      server.store.events.append(now, 'entry.deleted', entryIds.get(path) as string);
    });
  }

  const svidReady = (path: string) => agent.svids.get(entryIds.get(path) as string) !== undefined;

  function serve(path: string, authorizedDelegates: string[], delegateScopes: Record<string, DelegateScopeConfig> = {}): Promise<AdminSocket> {
    const jwts = new JwtSvidCache(agent.node, systemClock);
    return serveAdminSocket(path, { node: agent.node, sync: agent.sync, svids: agent.svids, jwts, clock: systemClock, hashCache: new ExecutableHashCache(), authorizedDelegates, delegateScopes }, silentLogger);
  }

  before(async () => {
    dir = makeTempDir('sigil-delegated-');
    chmodSync(dir, 0o755);
    // Existing folders keep their mode: these let the child delegates reach the sockets.
    mkdirSync(join(dir, 'admin'), { mode: 0o755 });
    mkdirSync(join(dir, 'admin-scoped'), { mode: 0o755 });
    server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: td, SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
      log: silentLogger,
      keyManager: new MemoryKeyManager(),
    });
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), 't', Date.now() + 600_000, Date.now());
    const config = loadAgentConfig(undefined, {}, {
      trust_domain: td,
      server_address: server.agentApi?.address,
      data_dir: join(dir, 'agent'),
      socket_path: join(dir, 'public', 'api.sock'),
      insecure_bootstrap: true,
      health_addr: '127.0.0.1:0',
      join_token: token,
    });
    agent = await startAgent(config, { log: silentLogger });

    pidWorkload = spawn('setpriv', [`--reuid=${pidWorkloadUid}`, `--regid=${pidWorkloadUid}`, '--clear-groups', 'sleep', '300'], { stdio: 'ignore' });
    const pid = pidWorkload.pid as number;
    // setpriv runs as root until it execs sleep under the new uid.
    await until('the pid workload to run as its uid', () => {
      try {
        return new RegExp(`^Uid:\\s+\\d+\\s+${pidWorkloadUid}\\s`, 'm').test(readFileSync(`/proc/${pid}/status`, 'utf8')) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    });

    createEntry('delegate', [`unix:uid:${process.geteuid?.()}`]);
    createEntry('delegate-2', [`unix:uid:${childDelegateUid}`]);
    createEntry('nobody', [`unix:uid:${nobody}`]);
    createEntry('workload/a', [`k8s:pod-uid:${podA}`], { hint: 'internal' });
    createEntry('workload/b', [`k8s:pod-uid:${podA}`]);
    createEntry('workload/admin', [`k8s:pod-uid:${podA}`], { admin: true });
    createEntry('workload/by-pid', [`unix:uid:${pidWorkloadUid}`]);
    createEntry('scoped/in', [`k8s:pod-uid:${podScoped}`]);
    createEntry('other/out', [`k8s:pod-uid:${podScoped}`]);
    await until('every SVID', () => [...entryIds.keys()].every(svidReady));

    adminSocket = await serve(adminPath(), [id('delegate'), id('delegate-2')]);
    chownSync(adminPath(), 0, socketGroup);
    scopedSocket = await serve(scopedPath(), [id('delegate')], { [id('delegate')]: { selector_types: ['k8s'], spiffe_id_prefixes: [id('scoped')] } });
    client = delegateClient(adminPath());
    scopedClient = delegateClient(scopedPath());
    script = childScript(dir);
  });

  after(async () => {
    client?.close();
    scopedClient?.close();
    pidWorkload?.kill('SIGTERM');
    await adminSocket?.close();
    await scopedSocket?.close();
    await agent?.close();
    await server?.close();
    removeDir(dir);
  });

  it('DI-01: the admin socket is mode 0770; a uid outside its group cannot even connect', async () => {
    assert.equal(statSync(adminPath()).mode & 0o777, 0o770);
    const outsider = new ChildDelegate(script, noEntryUid, noEntryUid, adminPath(), 'SubscribeToX509Bundles', {});
    try {
      const event = await outsider.next();
      assert.equal(event.error?.code, grpc.status.UNAVAILABLE, JSON.stringify(event));
    } finally {
      outsider.stop();
    }
  });

  it('DI-05/§6.1: an allow-listed caller subscribes by selectors and gets every matching SVID but the admin one, in SPIRE\'s shapes', async () => {
    const message = await firstMessage(client.SubscribeToX509SVIDs({ selectors: [{ type: 'k8s', value: `pod-uid:${podA}` }] }));
    assert.deepEqual(svidIds(message), [id('workload/a'), id('workload/b')]);
    assert.deepEqual(message.federates_with, []);
    const a = message.x509_svids.find((s) => s.x509_svid.id.path === '/workload/a') as X509SvidWithKey;
    // Bare trust domain name and path (§8.12), one DER per chain element, leaf first.
    assert.deepEqual(a.x509_svid.id, { trust_domain: td, path: '/workload/a' });
    assert.equal(a.x509_svid.hint, 'internal');
    const leaf = new X509Certificate(a.x509_svid.cert_chain[0] as Buffer);
    assert.equal(leaf.subjectAltName, `URI:${id('workload/a')}`);
    assert.equal(leaf.ca, false);
    // expires_at is the leaf's NotAfter in Unix seconds (int64 arrives as a string).
    assert.equal(Number(a.x509_svid.expires_at), Math.floor(Date.parse(leaf.validTo) / 1000));
    const issuers = [...a.x509_svid.cert_chain.slice(1), ...(agent.node.bundle?.x509Authorities ?? [])].map((d) => new X509Certificate(d));
    assert.ok(issuers.some((ca) => leaf.checkIssued(ca) && leaf.verify(ca.publicKey)), 'the leaf chains to the bundle');
    // The key is PKCS#8 DER and belongs to the leaf.
    const key = createPrivateKey({ key: a.x509_svid_key, format: 'der', type: 'pkcs8' });
    assert.equal(createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('hex'), leaf.publicKey.export({ format: 'der', type: 'spki' }).toString('hex'));
  });

  it('DI-04: an allow-listed caller subscribes by its own pid, and by the pid of another process, which the agent attests', async () => {
    const own = await firstMessage(client.SubscribeToX509SVIDs({ pid: process.pid }));
    assert.deepEqual(svidIds(own), [id('delegate')]);
    const other = await firstMessage(client.SubscribeToX509SVIDs({ pid: pidWorkload.pid }));
    assert.deepEqual(svidIds(other), [id('workload/by-pid')]);
    const jwt = await fetchJwtSvids(client, { audience: ['db'], pid: pidWorkload.pid });
    assert.deepEqual(jwt.svids.map((s) => s.id), [{ trust_domain: td, path: '/workload/by-pid' }]);
  });

  it('DI-04: a pid with no process is Unavailable "workload attestation failed"', async () => {
    await assert.rejects(firstMessage(client.SubscribeToX509SVIDs({ pid: 2 ** 31 - 1 })), grpcError(grpc.status.UNAVAILABLE, 'workload attestation failed'));
  });

  it('DI-04: selectors and a pid together, neither, or a malformed selector are InvalidArgument with SPIRE\'s texts', async () => {
    const both = 'must provide either selectors or non-zero PID, but not both';
    await assert.rejects(firstMessage(client.SubscribeToX509SVIDs({ selectors: [{ type: 'k8s', value: `pod-uid:${podA}` }], pid: process.pid })), grpcError(grpc.status.INVALID_ARGUMENT, both));
    await assert.rejects(firstMessage(client.SubscribeToX509SVIDs({})), grpcError(grpc.status.INVALID_ARGUMENT, both));
    await assert.rejects(fetchJwtSvids(client, { audience: ['db'] }), grpcError(grpc.status.INVALID_ARGUMENT, both));
    await assert.rejects(firstMessage(client.SubscribeToX509SVIDs({ selectors: [{ type: 'k8s:pod-uid', value: podA }] })), grpcError(grpc.status.INVALID_ARGUMENT, 'could not parse provided selectors'));
  });

  it('DI-07: FetchJWTSVIDs by selectors returns one JWT-SVID per matching non-admin entry, with exp and iat of the token', async () => {
    const before = Math.floor(Date.now() / 1000);
    const res = await fetchJwtSvids(client, { audience: ['db', 'cache'], selectors: [{ type: 'k8s', value: `pod-uid:${podA}` }] });
    assert.deepEqual(res.svids.map((s) => `spiffe://${s.id.trust_domain}${s.id.path}`).sort(), [id('workload/a'), id('workload/b')]);
    for (const svid of res.svids) {
      const claims = decodeJwt(svid.token);
      assert.equal(claims.sub, `spiffe://${svid.id.trust_domain}${svid.id.path}`);
      assert.deepEqual(claims.aud, ['db', 'cache']);
      assert.equal(Number(svid.expires_at), claims.exp);
      assert.equal(Number(svid.issued_at), claims.iat);
      assert.ok(Number(svid.issued_at) >= before - 1 && Number(svid.expires_at) > Number(svid.issued_at));
    }
    assert.equal(res.svids.find((s) => s.id.path === '/workload/a')?.hint, 'internal');
  });

  it('DI-07: no audience is InvalidArgument "audience must be specified"; no matching entry is PermissionDenied "no identity issued"', async () => {
    await assert.rejects(fetchJwtSvids(client, { audience: [], selectors: [{ type: 'k8s', value: `pod-uid:${podA}` }] }), grpcError(grpc.status.INVALID_ARGUMENT, 'audience must be specified'));
    await assert.rejects(fetchJwtSvids(client, { audience: ['db'], selectors: [{ type: 'k8s', value: 'pod-uid:none' }] }), grpcError(grpc.status.PERMISSION_DENIED, 'no identity issued'));
  });

  it('DI-06/DI-08: bundle maps are keyed spiffe://<td>: concatenated DER CAs, and a JWKS with kid and no use', async () => {
    const x509 = await firstMessage(client.SubscribeToX509Bundles({}));
    assert.deepEqual(Object.keys(x509.ca_certificates), [`spiffe://${td}`]);
    const der = x509.ca_certificates[`spiffe://${td}`] as Buffer;
    assert.ok(der.equals(Buffer.from(concatDer(agent.node.bundle?.x509Authorities ?? []))));
    const cas = splitDer(der).map((d) => new X509Certificate(d));
    assert.ok(cas.length >= 1 && cas.every((c) => c.ca));
    const jwt = await firstMessage(client.SubscribeToJWTBundles({}));
    assert.deepEqual(Object.keys(jwt.bundles), [`spiffe://${td}`]);
    const jwks = JSON.parse((jwt.bundles[`spiffe://${td}`] as Buffer).toString('utf8')) as { keys: Record<string, unknown>[] };
    assert.ok(jwks.keys.length >= 1);
    for (const key of jwks.keys) {
      assert.equal(typeof key.kid, 'string');
      assert.equal(key.use, undefined);
    }
  });

  it('DI-02: a caller not allow-listed gets PermissionDenied "caller not configured as an authorized delegate"; one with no entry, "no identity issued"', async () => {
    for (const [uid, details] of [
      [nobody, 'caller not configured as an authorized delegate'],
      [noEntryUid, 'no identity issued'],
    ] as const) {
      for (const [method, request] of [
        ['SubscribeToX509SVIDs', { selectors: [{ type: 'k8s', value: `pod-uid:${podA}` }] }],
        ['SubscribeToX509Bundles', {}],
        ['SubscribeToJWTBundles', {}],
        ['FetchJWTSVIDs', { audience: ['db'], selectors: [{ type: 'k8s', value: `pod-uid:${podA}` }] }],
      ] as const) {
        const child = new ChildDelegate(script, uid, socketGroup, adminPath(), method, request);
        try {
          assert.deepEqual(await child.next(), { error: { code: grpc.status.PERMISSION_DENIED, details } }, `${method} as uid ${uid}`);
        } finally {
          child.stop();
        }
      }
    }
  });

  it('DI-03: a delegate whose entry is deleted is cut off on the next push, on every stream', async () => {
    const svids = new ChildDelegate(script, childDelegateUid, socketGroup, adminPath(), 'SubscribeToX509SVIDs', { selectors: [{ type: 'k8s', value: `pod-uid:${podA}` }] });
    const bundles = new ChildDelegate(script, childDelegateUid, socketGroup, adminPath(), 'SubscribeToX509Bundles', {});
    try {
      // The API promises no order among a workload's SVIDs (entries created in the same ms tie).
      const first = (await svids.next()) as { data?: string[] };
      assert.deepEqual([...(first.data ?? [])].sort(), [id('workload/a'), id('workload/b')].sort());
      assert.deepEqual(await bundles.next(), { data: [`spiffe://${td}`] });
      const deleted = Date.now();
      deleteEntry('delegate-2');
      const cutOff = { error: { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' } };
      assert.deepEqual(await svids.next(), cutOff);
      assert.deepEqual(await bundles.next(), cutOff);
      assert.ok(Date.now() - deleted < 3000, `cut off after ${Date.now() - deleted} ms`);
    } finally {
      svids.stop();
      bundles.stop();
    }
  });

  it('scope: a scoped delegate gets only SPIFFE IDs under its prefixes', async () => {
    const message = await firstMessage(scopedClient.SubscribeToX509SVIDs({ selectors: [{ type: 'k8s', value: `pod-uid:${podScoped}` }] }));
    assert.deepEqual(svidIds(message), [id('scoped/in')]);
    const jwt = await fetchJwtSvids(scopedClient, { audience: ['db'], selectors: [{ type: 'k8s', value: `pod-uid:${podScoped}` }] });
    assert.deepEqual(jwt.svids.map((s) => s.id.path), ['/scoped/in']);
    // The same request through the unscoped socket gets both: the limit is the scope's.
    const unscoped = await firstMessage(client.SubscribeToX509SVIDs({ selectors: [{ type: 'k8s', value: `pod-uid:${podScoped}` }] }));
    assert.deepEqual(svidIds(unscoped), [id('other/out'), id('scoped/in')]);
  });

  it('scope: a scoped delegate asking with a selector type outside its scope is PermissionDenied', async () => {
    const outside = "selectors outside the delegate's scope: unix:uid:1001";
    await assert.rejects(firstMessage(scopedClient.SubscribeToX509SVIDs({ selectors: [{ type: 'unix', value: `uid:${pidWorkloadUid}` }] })), grpcError(grpc.status.PERMISSION_DENIED, outside));
    await assert.rejects(fetchJwtSvids(scopedClient, { audience: ['db'], selectors: [{ type: 'unix', value: `uid:${pidWorkloadUid}` }] }), grpcError(grpc.status.PERMISSION_DENIED, outside));
  });

  it('scope: a pid cannot widen the scope: only the allowed attested selectors are matched', async () => {
    // The pid workload is matched by unix:uid only, which this delegate may not ask with.
    const message = await firstMessage(scopedClient.SubscribeToX509SVIDs({ pid: pidWorkload.pid }));
    assert.deepEqual(svidIds(message), []);
    await assert.rejects(fetchJwtSvids(scopedClient, { audience: ['db'], pid: pidWorkload.pid }), grpcError(grpc.status.PERMISSION_DENIED, 'no identity issued'));
  });

  it('consumers §1.7: the first message waits until every matching SVID is ready, never a partial set', async () => {
    createEntry('late/ready', [`k8s:pod-uid:${podLate}`]);
    await until('the first SVID of the pod', () => svidReady('late/ready'));
    // Hold the agent's signing calls so that the second entry is known but has no SVID yet.
    const serverClient = agent.node.serverClient.bind(agent.node);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    agent.node.serverClient = async () => {
      await held;
      return serverClient();
    };
    let recorder: StreamRecorder<SubscribeToX509SvidsResponse> | undefined;
    try {
      createEntry('late/pending', [`k8s:pod-uid:${podLate}`]);
      await until('the second entry to reach the agent', () => agent.sync.entries.get(entryIds.get('late/pending') as string) !== undefined);
      recorder = new StreamRecorder(client.SubscribeToX509SVIDs({ selectors: [{ type: 'k8s', value: `pod-uid:${podLate}` }] }));
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(svidReady('late/pending'), false, 'the second SVID is still being signed');
      assert.equal(recorder.messages.length, 0, 'nothing is sent while one of the two SVIDs is missing');
      assert.equal(recorder.error, undefined);
      release();
      agent.node.serverClient = serverClient;
      await recorder.until((r) => r.messages.length > 0, 10_000, 'the first message');
      assert.deepEqual(svidIds(recorder.messages[0]?.message as SubscribeToX509SvidsResponse), [id('late/pending'), id('late/ready')]);
    } finally {
      release();
      agent.node.serverClient = serverClient;
      recorder?.close();
    }
  });
});
