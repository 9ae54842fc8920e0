import assert from 'node:assert/strict';
import * as grpc from '@grpc/grpc-js';
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate, createPrivateKey, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import { ExecutableHashCache } from '../../src/agent/attestation/executable-hash.js';
import { JwtSvidCache } from '../../src/agent/cache/jwt-svid-cache.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { serveBrokerSocket, type BrokerSocket } from '../../src/agent/endpoints/broker/broker-socket.js';
import type { FetchJwtSvidResponse, X509BundlesResponse, X509SvidResponse } from '../../src/agent/endpoints/broker/messages.js';
import { kubernetesReferenceType, pidReferenceType } from '../../src/agent/endpoints/broker/reference.js';
import { encodePidReference } from '../../src/agent/endpoints/broker/wire.js';
import { systemClock } from '../../src/common/clock.js';
import { brokerApiService, healthService } from '../../src/common/grpc/protos.js';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { pemEncodeAll } from '../../src/pki/pem.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { makeTempDir, removeDir } from '../helpers/sigil-process.js';
import { firstMessage, splitDer } from '../helpers/raw-workload-client.js';

// A real server and agent in one process; the Broker API socket is started here from the agent's
// parts. The broker client is made straight from the proto, with an X509-SVID minted by the CA.

const td = 'example.org';
const id = (path: string) => `spiffe://${td}/${path}`;
const noEntryUid = 65533;

type Reference = { reference: { type_url: string; value: Buffer } };
interface BrokerClient extends grpc.Client {
  SubscribeToX509SVID(req: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<X509SvidResponse>;
  SubscribeToX509Bundles(req: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<X509BundlesResponse>;
  FetchJWTSVID(req: object, metadata: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: FetchJwtSvidResponse) => void): void;
}

const pidRef = (pid: number): Reference => ({ reference: { type_url: pidReferenceType, value: encodePidReference(pid) } });

function brokerHeader(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('broker.spiffe.io', 'true');
  return md;
}

/** The google.rpc.ErrorInfo in the trailers, checked on its bytes (reason, domain, type URL). */
function assertErrorInfo(err: grpc.ServiceError, reason: string): void {
  const [details] = err.metadata.get('grpc-status-details-bin');
  assert.ok(Buffer.isBuffer(details), 'grpc-status-details-bin is present');
  const text = details.toString('latin1');
  for (const part of ['type.googleapis.com/google.rpc.ErrorInfo', reason, 'spiffe.io']) assert.ok(text.includes(part), `status details name ${part}`);
}

const grpcError = (code: grpc.status, reason?: string) => (err: unknown) => {
  assert.equal((err as grpc.ServiceError).code, code, (err as Error).message);
  if (reason) assertErrorInfo(err as grpc.ServiceError, reason);
  return true;
};

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('SPIFFE Broker API on its own socket (consumers §6.4)', () => {
  let dir: string;
  let server: RunningServer;
  let agent: RunningAgent;
  let broker: BrokerSocket;
  let client: BrokerClient;
  let outsider: BrokerClient;
  let noEntryWorkload: ChildProcess;
  let workloadEntryId: string;
  const socketPath = () => join(dir, 'broker', 'broker.sock');

  function createEntry(path: string, selector: string, admin = false): string {
    const now = Date.now();
    return server.store.transaction(() => {
      const [type, ...rest] = selector.split(':');
      const entry = server.store.entries.create(
        { spiffeId: id(path), parentId: agent.node.identity?.spiffeId as string, selectors: [{ type: type as string, value: rest.join(':') }], dnsNames: [], x509SvidTtl: 3600, jwtSvidTtl: 300, hint: '', admin },
        now,
      );
      server.store.events.append(now, 'entry.created', entry.id);
      return entry.id;
    });
  }

  /** A broker client whose X509-SVID the CA mints for `spiffeId`. */
  async function brokerCredentials(spiffeId: string): Promise<grpc.ChannelCredentials> {
    const svid = await server.ca.mintX509Svid({ spiffeId, dnsNames: [] });
    const roots = Buffer.from(pemEncodeAll('CERTIFICATE', agent.node.bundle?.x509Authorities ?? []));
    const agentId = agent.node.identity?.spiffeId;
    const creds = grpc.credentials.createSsl(roots, Buffer.from(svid.privateKeyPem), Buffer.from(pemEncodeAll('CERTIFICATE', svid.chainDer)), {
      // The agent's SVID names no host: check its SPIFFE ID instead.
      checkServerIdentity: (_host, cert) => (cert.subjectaltname === `URI:${agentId}` ? undefined : new Error(`unexpected server ${cert.subjectaltname}`)),
    });
    return creds;
  }

  async function brokerClient(spiffeId: string): Promise<BrokerClient> {
    const Client = brokerApiService() as unknown as new (address: string, creds: grpc.ChannelCredentials) => BrokerClient;
    return new Client(`unix://${socketPath()}`, await brokerCredentials(spiffeId));
  }

  const fetchJwt = (c: BrokerClient, req: object, md = brokerHeader()) =>
    new Promise<FetchJwtSvidResponse>((resolve, reject) => c.FetchJWTSVID(req, md, (err, res) => (err ? reject(err) : resolve(res as FetchJwtSvidResponse))));

  before(async () => {
    dir = makeTempDir('sigil-broker-');
    server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: td, SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
      log: silentLogger,
      keyManager: new MemoryKeyManager(),
    });
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), 't', Date.now() + 600_000, Date.now());
    const config = loadAgentConfig(undefined, {}, { trust_domain: td, server_address: server.agentApi?.address, data_dir: join(dir, 'agent'), socket_path: join(dir, 'public', 'api.sock'), insecure_bootstrap: true, health_addr: '127.0.0.1:0', join_token: token });
    agent = await startAgent(config, { log: silentLogger });

    noEntryWorkload = spawn('setpriv', [`--reuid=${noEntryUid}`, `--regid=${noEntryUid}`, '--clear-groups', 'sleep', '300'], { stdio: 'ignore' });
    const pid = noEntryWorkload.pid as number;
    await until('the no-entry workload to run as its uid', () => {
      try {
        return new RegExp(`^Uid:\\s+\\d+\\s+${noEntryUid}\\s`, 'm').test(readFileSync(`/proc/${pid}/status`, 'utf8')) && readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep';
      } catch {
        return false;
      }
    });

    workloadEntryId = createEntry('workload/by-pid', `unix:uid:${process.geteuid?.()}`);
    const adminEntryId = createEntry('workload/admin', `unix:uid:${process.geteuid?.()}`, true);
    await until('the workload SVIDs', () => agent.svids.get(workloadEntryId) !== undefined && agent.svids.get(adminEntryId) !== undefined);

    broker = await serveBrokerSocket(
      socketPath(),
      { node: agent.node, sync: agent.sync, svids: agent.svids, jwts: new JwtSvidCache(agent.node, systemClock), clock: systemClock, hashCache: new ExecutableHashCache(), authorizedCallers: [id('broker')] },
      silentLogger,
    );
    client = await brokerClient(id('broker'));
    outsider = await brokerClient(id('not-a-broker'));
  });

  after(async () => {
    client?.close();
    outsider?.close();
    noEntryWorkload?.kill('SIGTERM');
    await broker?.close();
    await agent?.close();
    await server?.close();
    removeDir(dir);
  });

  it('§6.4 endpoint: gRPC health answers SERVING for spiffe.broker.API on the broker socket', async () => {
    const Health = healthService() as unknown as new (a: string, c: grpc.ChannelCredentials) => grpc.Client & {
      Check(req: { service: string }, cb: (err: grpc.ServiceError | null, res?: { status: string }) => void): void;
    };
    const health = new Health(`unix://${socketPath()}`, await brokerCredentials(id('broker')));
    try {
      const status = await new Promise<string>((resolve, reject) => health.Check({ service: 'spiffe.broker.API' }, (err, res) => (err ? reject(err) : resolve(res?.status ?? ''))));
      assert.equal(status, 'SERVING');
    } finally {
      health.close();
    }
  });

  it('§6.4 endpoint: a call without the broker.spiffe.io header is InvalidArgument', async () => {
    await assert.rejects(firstMessage(client.SubscribeToX509SVID({ reference: pidRef(process.pid) }, new grpc.Metadata())), grpcError(grpc.status.INVALID_ARGUMENT));
    await assert.rejects(fetchJwt(client, { reference: pidRef(process.pid), audience: ['db'] }, new grpc.Metadata()), grpcError(grpc.status.INVALID_ARGUMENT));
  });

  it('§6.4 endpoint: a valid X509-SVID that is not allow-listed is PermissionDenied (authenticated, not authorized)', async () => {
    await assert.rejects(firstMessage(outsider.SubscribeToX509SVID({ reference: pidRef(process.pid) }, brokerHeader())), grpcError(grpc.status.PERMISSION_DENIED));
  });

  it('§6.4 endpoint: a client without a certificate is Unauthenticated', async () => {
    const roots = Buffer.from(pemEncodeAll('CERTIFICATE', agent.node.bundle?.x509Authorities ?? []));
    const Client = brokerApiService() as unknown as new (address: string, creds: grpc.ChannelCredentials) => BrokerClient;
    const anonymous = new Client(`unix://${socketPath()}`, grpc.credentials.createSsl(roots, null, null, { checkServerIdentity: () => undefined }));
    try {
      await assert.rejects(firstMessage(anonymous.SubscribeToX509SVID({ reference: pidRef(process.pid) }, brokerHeader())), grpcError(grpc.status.UNAUTHENTICATED));
    } finally {
      anonymous.close();
    }
  });

  it('§4.2/§4.4: a PID reference of a process with an entry gets its SVIDs at once, full state, admin entries left out', async () => {
    const message = await firstMessage(client.SubscribeToX509SVID({ reference: pidRef(process.pid) }, brokerHeader()));
    assert.deepEqual(
      message.svids.map((s) => s.spiffe_id),
      [id('workload/by-pid')],
    );
    const svid = message.svids[0] as X509SvidResponse['svids'][number];
    const chain = splitDer(svid.x509_svid);
    const leaf = new X509Certificate(chain[0] as Buffer);
    assert.equal(leaf.subjectAltName, `URI:${id('workload/by-pid')}`);
    const key = createPrivateKey({ key: svid.x509_svid_key, format: 'der', type: 'pkcs8' });
    assert.equal(createPublicKey(key).export({ format: 'der', type: 'spki' }).toString('hex'), leaf.publicKey.export({ format: 'der', type: 'spki' }).toString('hex'));
    assert.ok(svid.bundle.length > 0);
    assert.deepEqual(message.federated_bundles, {});

    const bundles = await firstMessage(client.SubscribeToX509Bundles({ reference: pidRef(process.pid) }, brokerHeader()));
    assert.deepEqual(Object.keys(bundles.bundles), [`spiffe://${td}`]);

    const jwt = await fetchJwt(client, { reference: pidRef(process.pid), audience: ['db'] });
    assert.deepEqual(
      jwt.svids.map((s) => s.spiffe_id),
      [id('workload/by-pid')],
    );
    assert.equal(decodeJwt(jwt.svids[0]?.svid as string).sub, id('workload/by-pid'));
  });

  it('§4.8: a pid whose process has no entry is PermissionDenied / WORKLOAD_NOT_ENTITLED', async () => {
    await assert.rejects(firstMessage(client.SubscribeToX509SVID({ reference: pidRef(noEntryWorkload.pid as number) }, brokerHeader())), grpcError(grpc.status.PERMISSION_DENIED, 'WORKLOAD_NOT_ENTITLED'));
    await assert.rejects(fetchJwt(client, { reference: pidRef(noEntryWorkload.pid as number), audience: ['db'] }), grpcError(grpc.status.PERMISSION_DENIED, 'WORKLOAD_NOT_ENTITLED'));
  });

  it('§4.8: a pid with no process is NotFound / WORKLOAD_NOT_FOUND', async () => {
    await assert.rejects(firstMessage(client.SubscribeToX509SVID({ reference: pidRef(2 ** 31 - 1) }, brokerHeader())), grpcError(grpc.status.NOT_FOUND, 'WORKLOAD_NOT_FOUND'));
  });

  it('§4.8: no reference, a non-positive pid, a Kubernetes object reference or an unknown type is InvalidArgument / WORKLOAD_REFERENCE_INVALID', async () => {
    const invalid = grpcError(grpc.status.INVALID_ARGUMENT, 'WORKLOAD_REFERENCE_INVALID');
    await assert.rejects(firstMessage(client.SubscribeToX509SVID({}, brokerHeader())), invalid);
    await assert.rejects(firstMessage(client.SubscribeToX509SVID({ reference: pidRef(-5) }, brokerHeader())), invalid);
    await assert.rejects(firstMessage(client.SubscribeToX509SVID({ reference: { reference: { type_url: kubernetesReferenceType, value: Buffer.alloc(0) } } }, brokerHeader())), invalid);
    await assert.rejects(firstMessage(client.SubscribeToX509SVID({ reference: { reference: { type_url: 'type.googleapis.com/example.VendorReference', value: Buffer.from([8, 1]) } } }, brokerHeader())), invalid);
    await assert.rejects(fetchJwt(client, { reference: { reference: { type_url: 'type.googleapis.com/example.VendorReference', value: Buffer.alloc(0) } }, audience: ['db'] }), invalid);
  });

  it('§4.9: a stream for a workload that exits ends with NotFound', async () => {
    const child = spawn('sleep', ['300'], { stdio: 'ignore' });
    try {
      const stream = client.SubscribeToX509SVID({ reference: pidRef(child.pid as number) }, brokerHeader());
      const first = await new Promise<X509SvidResponse>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      });
      assert.deepEqual(
        first.svids.map((s) => s.spiffe_id),
        [id('workload/by-pid')],
      );
      const ended = new Promise<grpc.ServiceError>((resolve) => stream.on('error', resolve));
      child.kill('SIGKILL');
      const err = await ended;
      assert.equal(err.code, grpc.status.NOT_FOUND);
      assertErrorInfo(err, 'WORKLOAD_NOT_FOUND');
    } finally {
      child.kill('SIGKILL');
    }
  });
});
