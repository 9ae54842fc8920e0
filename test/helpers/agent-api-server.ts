import { X509Certificate } from 'node:crypto';
import { rmSync } from 'node:fs';
import { ServerClient } from '../../src/agent/node/server-client.js';
import type { AgentIdentity } from '../../src/agent/node/agent-state.js';
import type { Logger } from '../../src/common/logger.js';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { createCsr } from '../../src/pki/csr.js';
import { generateKeyPair, signatureAlgorithmFor } from '../../src/pki/keys.js';
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
  return Buffer.from(await createCsr(keys, signatureAlgorithmFor(keys.algorithm)));
}

export async function startAgentApiServer(options: { log?: Logger } = {}): Promise<AgentApiServer> {
  const dir = tempDir('sigil-agent-api-');
  const config = loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: agentApiTrustDomain, SIGIL_DATA_DIR: dir, SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' });
  const server = await startServer(config, { log: options.log ?? silentLogger, keyManager: new MemoryKeyManager() });
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
    address,
    roots,
    newJoinToken,
    async attest(token = newJoinToken()) {
      const keys = await generateKeyPair('ec-p256');
      const client = ServerClient.forAttestation(address, trust());
      try {
        const res = await client.attest({ join_token: token, csr: Buffer.from(await createCsr(keys, signatureAlgorithmFor(keys.algorithm))) });
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
