import * as grpc from '@grpc/grpc-js';
import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { ServerClient } from '../../src/agent/node/server-client.js';
import type { AgentIdentity } from '../../src/agent/node/agent-state.js';
import type { Logger } from '../../src/common/logger.js';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { agentService } from '../../src/common/grpc/protos.js';
import { createCsr } from '../../src/pki/csr.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../src/pki/keys.js';
import { pemEncodeAll } from '../../src/pki/pem.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { tempDir } from './test-server.js';

export const agentApiTrustDomain = 'example.org';

/**
 * A real server with its agent API on a real TLS port (admin API not listening), and agents
 * played by Sigil's own ServerClient (the code the agent runs) over real mutual TLS.
 */
export interface AgentApiServer {
  server: RunningServer;
  /** The server's CA keys (in memory), for tests that must sign what the CA itself refuses to. */
  keyManager: MemoryKeyManager;
  /** host:port of the agent API. */
  address: string;
  /** PEM of the current X.509 bundle: what an agent trusts the server with. */
  roots(): string;
  newJoinToken(expiresInMs?: number): string;
  /** Node attestation with a join token, as `sigil agent run` does it. */
  attest(token?: string): Promise<AgentIdentity>;
  /** A client that presents this identity's SVID. */
  clientFor(identity: AgentIdentity): Promise<ServerClient>;
  /** A client with no client certificate. */
  anonymousClient(): ServerClient;
  /** An entry at spiffe://example.org/<path> under `parentId`, with its event, as the REST API would write it. */
  createEntry(path: string, parentId: string): string;
  close(): Promise<void>;
}

export async function csrDer(): Promise<Buffer> {
  const keys = await generateKeyPair('ec-p256');
  return Buffer.from(await createCsr(keys));
}

export async function startAgentApiServer(options: { log?: Logger } = {}): Promise<AgentApiServer> {
  const dir = tempDir('sigil-agent-api-');
  const config = loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: agentApiTrustDomain, SIGIL_DATA_DIR: dir, SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' });
  const keyManager = new MemoryKeyManager();
  const server = await startServer(config, { log: options.log ?? silentLogger, keyManager });
  const address = server.agentApi?.address as string;
  const roots = () => pemEncodeAll('CERTIFICATE', server.ca.x509BundleDer());
  const trust = () => ({ trustDomain: agentApiTrustDomain, rootsPem: roots() });

  function newJoinToken(expiresInMs = 600_000): string {
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), 'test', Date.now() + expiresInMs, Date.now());
    return token;
  }

  return {
    server,
    keyManager,
    address,
    roots,
    newJoinToken,
    async attest(token = newJoinToken()) {
      const keys = await generateKeyPair('ec-p256');
      const client = ServerClient.forAttestation(address, trust());
      try {
        const res = await client.attest({ join_token: token, csr: Buffer.from(await createCsr(keys)) });
        const chain = res.svid_chain.map((b) => new Uint8Array(b));
        return { agentId: res.agent_id, spiffeId: res.spiffe_id, keys, svidChainDer: chain, notAfter: new Date(new X509Certificate(chain[0] as Uint8Array).validTo) };
      } finally {
        client.close();
      }
    },
    clientFor: (identity) => ServerClient.withIdentity(address, trust(), identity),
    anonymousClient: () => ServerClient.forAttestation(address, trust()),
    createEntry(path, parentId) {
      const now = Date.now();
      return server.store.transaction(() => {
        const created = server.store.entries.create({ spiffeId: `spiffe://${agentApiTrustDomain}/${path}`, parentId, selectors: [{ type: 'unix', value: 'uid:1' }], dnsNames: [], x509SvidTtl: 600, jwtSvidTtl: 300, hint: '', admin: false }, now);
        server.store.events.append(now, 'entry.created', created.id);
        return created.id;
      });
    },
    async close() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export type AgentRpc = 'AttestAgent' | 'RenewAgent' | 'SignX509Svids' | 'MintJwtSvid' | 'ReportStatus';

/** The protobuf bytes of a request, as the agent's client would send them. */
export function serializeAgentRequest(rpc: AgentRpc | 'Sync', request: object): Buffer {
  const method = agentService().service[rpc] as grpc.MethodDefinition<object, object>;
  return method.requestSerialize(request);
}

/** A request as the server decodes it: protobuf's UTF-8 coding changes strings with lone surrogates. */
export function asServerSees<T extends object>(rpc: AgentRpc | 'Sync', request: T): T {
  const method = agentService().service[rpc] as grpc.MethodDefinition<object, object>;
  return method.requestDeserialize(method.requestSerialize(request)) as T;
}

export type RawAnswer = { ok: true; response: Buffer } | { ok: false; code: grpc.status; details: string };

/**
 * A client of the agent API that sends request bytes as given (e.g. mutated protobuf), with
 * `identity`'s SVID as client certificate or none. The server is not authenticated: this plays
 * a hostile agent, not a careful one.
 */
export async function rawAgentApiClient(api: AgentApiServer, identity: AgentIdentity | undefined): Promise<{ call(rpc: AgentRpc, bytes: Buffer): Promise<RawAnswer>; close(): void }> {
  const key = identity ? Buffer.from(await exportPrivateKeyPem(identity.keys.privateKey)) : null;
  const cert = identity ? Buffer.from(pemEncodeAll('CERTIFICATE', identity.svidChainDer)) : null;
  const client = new grpc.Client(api.address, grpc.credentials.createSsl(Buffer.from(api.roots()), key, cert, { checkServerIdentity: () => undefined }), { 'grpc.ssl_target_name_override': 'sigil-server' });
  const identityBytes = (b: Buffer) => b;
  return {
    call: (rpc, bytes) =>
      new Promise((resolve) => {
        client.makeUnaryRequest(`/sigil.agent.v1.AgentService/${rpc}`, identityBytes, identityBytes, bytes, { deadline: Date.now() + 15_000 }, (err, response) => {
          resolve(err ? { ok: false, code: err.code, details: err.details } : { ok: true, response: response as Buffer });
        });
      }),
    close: () => client.close(),
  };
}
