import assert from 'node:assert/strict';
import { chmodSync, chownSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import { ExecutableHashCache } from '../../src/agent/attestation/executable-hash.js';
import { JwtSvidCache } from '../../src/agent/cache/jwt-svid-cache.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import { serveBrokerSocket, type BrokerSocket } from '../../src/agent/endpoints/broker/broker-socket.js';
import { pidReferenceType } from '../../src/agent/endpoints/broker/reference.js';
import { encodePidReference } from '../../src/agent/endpoints/broker/wire.js';
import { serveAdminSocket, type AdminSocket } from '../../src/agent/endpoints/delegated/admin-socket.js';
import { systemClock } from '../../src/common/clock.js';
import { brokerApiService, delegatedIdentityService } from '../../src/common/grpc/protos.js';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { pemEncode, pemEncodeAll } from '../../src/pki/pem.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { grpcCallAsUid } from '../helpers/grpc-as-uid.js';
import { capturingLogger } from '../helpers/log-capture.js';
import { firstMessage } from '../helpers/raw-workload-client.js';
import { makeTempDir, removeDir } from '../helpers/sigil-process.js';
import { caSpec, issue, leafSpec, pkcs8Of } from '../helpers/spiffe-certs.js';

// Issue 8, hostile callers on the agent's local APIs: the Workload API from a uid with no entry,
// the Delegated Identity API from callers that are not delegates, the Broker API from brokers
// that are not allow-listed or not ours. Each is refused with the status the spec names, and
// each refusal is in the agent's log (its audit record: the agent has no database) with who
// called. A real server and agent in this process; other uids are child processes (setpriv).

const td = 'example.org';
const id = (path: string) => `spiffe://${td}/${path}`;
const noEntryUid = 65533;

interface DelegateClient extends grpc.Client {
  SubscribeToX509SVIDs(req: object): grpc.ClientReadableStream<unknown>;
}
interface BrokerClient extends grpc.Client {
  SubscribeToX509SVID(req: object, metadata: grpc.Metadata): grpc.ClientReadableStream<unknown>;
}

const brokerHeader = () => {
  const md = new grpc.Metadata();
  md.set('broker.spiffe.io', 'true');
  return md;
};

async function until(what: string, predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const refusedWith = (code: grpc.status, details?: string | RegExp) => (err: grpc.ServiceError) => {
  assert.equal(err.code, code, `${err.code} ${err.details}`);
  if (typeof details === 'string') assert.equal(err.details, details);
  else if (details) assert.match(err.details, details);
  return true;
};

describe('hostile callers on the agent sockets: refused and logged', () => {
  let dir: string;
  let server: RunningServer;
  let agent: RunningAgent;
  let adminSocket: AdminSocket;
  let brokerSocket: BrokerSocket;
  const agentLog = capturingLogger();
  const adminPath = () => join(dir, 'admin', 'admin.sock');
  const brokerPath = () => join(dir, 'broker', 'broker.sock');

  /** Log records written while `action` ran. */
  async function logged<T>(action: () => Promise<T>): Promise<Record<string, unknown>[]> {
    const from = agentLog.records.length;
    await action();
    return agentLog.records.slice(from);
  }

  before(async () => {
    dir = makeTempDir('sigil-hostile-local-');
    chmodSync(dir, 0o755);
    mkdirSync(join(dir, 'admin'), { mode: 0o755 });
    server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: td, SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), { log: silentLogger, keyManager: new MemoryKeyManager() });
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), 't', Date.now() + 600_000, Date.now());
    const config = loadAgentConfig(undefined, {}, { trust_domain: td, server_address: server.agentApi?.address, data_dir: join(dir, 'agent'), socket_path: join(dir, 'public', 'api.sock'), insecure_bootstrap: true, health_addr: '127.0.0.1:0', join_token: token });
    agent = await startAgent(config, { log: agentLog.logger });
    const now = Date.now();
    const entryId = server.store.transaction(() => {
      const entry = server.store.entries.create({ spiffeId: id('workload/root'), parentId: agent.node.identity?.spiffeId as string, selectors: [{ type: 'unix', value: `uid:${process.geteuid?.()}` }], dnsNames: [], x509SvidTtl: 3600, jwtSvidTtl: 300, hint: '', admin: false }, now);
      server.store.events.append(now, 'entry.created', entry.id);
      return entry.id;
    });
    await until('the SVID of the root workload', () => agent.svids.get(entryId) !== undefined);
    const parts = { node: agent.node, sync: agent.sync, svids: agent.svids, jwts: new JwtSvidCache(agent.node, systemClock), clock: systemClock, hashCache: new ExecutableHashCache() };
    adminSocket = await serveAdminSocket(adminPath(), { ...parts, authorizedDelegates: [id('delegate')], delegateScopes: {} }, agentLog.logger);
    // As an operator grants a delegate the socket: the no-entry uid's group may connect.
    chownSync(adminPath(), 0, noEntryUid);
    brokerSocket = await serveBrokerSocket(brokerPath(), { ...parts, authorizedCallers: [id('broker')] }, agentLog.logger);
  });

  after(async () => {
    await brokerSocket?.close();
    await adminSocket?.close();
    await agent?.close();
    await server?.close();
    removeDir(dir);
  });

  it('WL-30: a uid with no entry is PermissionDenied "no identity issued" on every Workload API call, each refusal logged with its uid', async () => {
    const socketPath = join(dir, 'public', 'api.sock');
    for (const [method, request] of [['FetchX509SVID', {}], ['FetchX509Bundles', {}], ['FetchJWTBundles', {}], ['FetchJWTSVID', { audience: ['db'] }]] as const) {
      const records = await logged(async () => {
        const result = await grpcCallAsUid({ uid: noEntryUid, socketPath, api: 'workload', method, request, workDir: dir });
        assert.deepEqual(result, { ok: false, code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' }, method);
      });
      assert.ok(
        records.some((r) => r.msg === 'workload API call refused' && r.method === method && r.caller_uid === noEntryUid && r.code === 'PERMISSION_DENIED' && r.details === 'no identity issued'),
        `${method}: refusal logged, got ${JSON.stringify(records)}`,
      );
    }
  });

  it('DI-02: a caller whose entries hold no authorized delegate ID is PermissionDenied, logged with its uid', async () => {
    const Client = delegatedIdentityService() as unknown as new (address: string, creds: grpc.ChannelCredentials) => DelegateClient;
    const client = new Client(`unix://${adminPath()}`, grpc.credentials.createInsecure());
    try {
      const records = await logged(() =>
        assert.rejects(firstMessage(client.SubscribeToX509SVIDs({ selectors: [{ type: 'unix', value: 'uid:0' }] })), refusedWith(grpc.status.PERMISSION_DENIED, 'caller not configured as an authorized delegate')),
      );
      assert.ok(records.some((r) => r.msg === 'delegated identity call refused' && r.caller_uid === process.geteuid?.() && r.code === 'PERMISSION_DENIED'), JSON.stringify(records));
    } finally {
      client.close();
    }
  });

  it('DI-02: a uid with no entry at all is PermissionDenied "no identity issued" on the admin socket, logged with its uid', async () => {
    const records = await logged(async () => {
      const result = await grpcCallAsUid({ uid: noEntryUid, socketPath: adminPath(), api: 'delegated', method: 'SubscribeToX509SVIDs', request: { selectors: [{ type: 'unix', value: 'uid:0' }] }, workDir: dir });
      assert.deepEqual(result, { ok: false, code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
    });
    assert.ok(records.some((r) => r.msg === 'delegated identity call refused' && r.caller_uid === noEntryUid), JSON.stringify(records));
  });

  describe('Broker API (consumers §6.4)', () => {
    const pidRef = { reference: { type_url: pidReferenceType, value: encodePidReference(process.pid) } };
    const roots = () => Buffer.from(pemEncodeAll('CERTIFICATE', agent.node.bundle?.x509Authorities ?? []));
    const brokerClient = (key: string | null, chainPem: string | null) => {
      const Client = brokerApiService() as unknown as new (address: string, creds: grpc.ChannelCredentials) => BrokerClient;
      return new Client(`unix://${brokerPath()}`, grpc.credentials.createSsl(roots(), key === null ? null : Buffer.from(key), chainPem === null ? null : Buffer.from(chainPem), { checkServerIdentity: () => undefined }));
    };

    async function assertRefusedAndLogged(client: BrokerClient, code: grpc.status, details: RegExp): Promise<void> {
      try {
        const records = await logged(() => assert.rejects(firstMessage(client.SubscribeToX509SVID({ reference: pidRef }, brokerHeader())), refusedWith(code, details)));
        assert.ok(records.some((r) => r.msg === 'broker API call refused' && r.method === 'SubscribeToX509SVID' && r.code === grpc.status[code] && details.test(String(r.details))), JSON.stringify(records));
      } finally {
        client.close();
      }
    }

    it('an X509-SVID of our trust domain that is not allow-listed is PermissionDenied, logged naming it', async () => {
      const svid = await server.ca.mintX509Svid({ spiffeId: id('not-a-broker'), dnsNames: [] });
      await assertRefusedAndLogged(brokerClient(svid.privateKeyPem, pemEncodeAll('CERTIFICATE', svid.chainDer)), grpc.status.PERMISSION_DENIED, /not-a-broker is not an authorized broker/);
    });

    it('no client certificate is Unauthenticated, logged', async () => {
      await assertRefusedAndLogged(brokerClient(null, null), grpc.status.UNAUTHENTICATED, /must present an X509-SVID/);
    });

    it("X-22: another CA's certificate naming the allowed broker is Unauthenticated, logged", async () => {
      const now = Date.now();
      const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 3_600_000) };
      const foreignCa = await issue(caSpec(td, validity));
      const forged = await issue(leafSpec(id('broker'), validity), foreignCa);
      await assertRefusedAndLogged(brokerClient(pemEncode('PRIVATE KEY', await pkcs8Of(forged.keys)), pemEncode('CERTIFICATE', forged.der)), grpc.status.UNAUTHENTICATED, /X509-SVID is not valid/);
    });
  });
});
