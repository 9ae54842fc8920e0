import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { startAgent, type RunningAgent } from '../../src/agent/agent.js';
import { ExecutableHashCache } from '../../src/agent/attestation/executable-hash.js';
import { CallerProcess } from '../../src/agent/attestation/process-identity.js';
import { loadAgentConfig } from '../../src/agent/config.js';
import type { Caller } from '../../src/agent/endpoints/caller.js';
import { sdsHandlers, sdsServiceDefinition, type SdsDeps } from '../../src/agent/endpoints/sds/sds-service.js';
import { systemClock } from '../../src/common/clock.js';
import { protoLoaderOptions, sdsProtoFiles } from '../../src/common/grpc/protos.js';
import { silentLogger } from '../../src/common/logger.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { MemoryKeyManager } from '../../src/server/ca/key-manager.js';
import { loadServerConfig } from '../../src/server/config.js';
import { startServer, type RunningServer } from '../../src/server/server.js';
import { caSpec, issue } from '../helpers/spiffe-certs.js';
import { makeTempDir, removeDir } from '../helpers/sigil-process.js';

// A real server and agents in this process, and an Envoy played by a gRPC client made from the
// Envoy proto files alone: it speaks to the agent's public socket as Envoy's SDS client does.

const secretTypeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';
const uid = process.getuid?.() ?? 0;

interface WireDataSource {
  inline_bytes: Buffer;
}
/** A Secret as this client decodes it (Any unpacked into `@type` and its fields). */
interface WireSecret {
  '@type': string;
  name: string;
  tls_certificate?: { certificate_chain: WireDataSource; private_key: WireDataSource } | null;
  validation_context?: {
    trusted_ca: WireDataSource | null;
    custom_validator_config: { name: string; typed_config: { '@type': string; trust_domains: { name: string; trust_bundle: WireDataSource }[] } } | null;
  } | null;
}
interface WireResponse {
  version_info: string;
  resources: WireSecret[];
  type_url: string;
  nonce: string;
}
interface EnvoyRequest {
  version_info?: string;
  node?: Record<string, unknown>;
  resource_names: string[];
  type_url?: string;
  response_nonce?: string;
  error_detail?: { code: number; message: string };
}
interface EnvoySdsClient extends grpc.Client {
  StreamSecrets(): grpc.ClientDuplexStream<EnvoyRequest, WireResponse>;
  FetchSecrets(req: EnvoyRequest, cb: (err: grpc.ServiceError | null, res?: WireResponse) => void): void;
  DeltaSecrets(): grpc.ClientDuplexStream<object, unknown>;
}

function envoyClient(socketPath: string): EnvoySdsClient {
  // json: Any fields are unpacked by their type URL, which therefore must name a known message.
  const definition = protoLoader.loadSync(sdsProtoFiles, { ...protoLoaderOptions, json: true });
  let node: unknown = grpc.loadPackageDefinition(definition);
  for (const part of ['envoy', 'service', 'secret', 'v3', 'SecretDiscoveryService']) node = (node as grpc.GrpcObject)[part];
  const Client = node as unknown as new (address: string, creds: grpc.ChannelCredentials) => EnvoySdsClient;
  return new Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One StreamSecrets stream, as Envoy holds one per secret it needs. */
class EnvoyStream {
  readonly responses: WireResponse[] = [];
  error: grpc.ServiceError | undefined;
  private read = 0;
  private waiters: (() => void)[] = [];
  private readonly call: grpc.ClientDuplexStream<EnvoyRequest, WireResponse>;

  constructor(client: EnvoySdsClient) {
    this.call = client.StreamSecrets();
    this.call.on('data', (r: WireResponse) => {
      this.responses.push(r);
      this.wake();
    });
    this.call.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  private async until(done: () => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (error: ${this.error?.details ?? 'none'})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(request: EnvoyRequest): void {
    this.call.write({ type_url: secretTypeUrl, ...request });
  }

  ack(response: WireResponse, names: string[]): void {
    this.send({ version_info: response.version_info, response_nonce: response.nonce, resource_names: names });
  }

  async next(timeoutMs = 10_000): Promise<WireResponse> {
    await this.until(() => this.responses.length > this.read || this.error !== undefined, timeoutMs, 'an SDS response');
    const response = this.responses[this.read];
    if (!response) throw new Error(`the stream ended: ${this.error?.code} ${this.error?.details}`);
    this.read++;
    return response;
  }

  /** No response for a while (what an ACK, a NACK or a stale request gets). */
  async silence(ms = 500): Promise<void> {
    await sleep(ms);
    assert.equal(this.responses.length, this.read, `unexpected response: ${JSON.stringify(this.responses.at(-1)?.version_info)}`);
    assert.equal(this.error, undefined);
  }

  async failure(timeoutMs = 10_000): Promise<grpc.ServiceError> {
    await this.until(() => this.error !== undefined, timeoutMs, 'the stream to fail');
    return this.error as grpc.ServiceError;
  }

  /** Half-close as Envoy does when it drops a subscription; resolves with the final status. */
  finish(): Promise<grpc.StatusObject> {
    const status = new Promise<grpc.StatusObject>((resolve) => this.call.once('status', resolve));
    this.call.end();
    return status;
  }

  close(): void {
    this.call.cancel();
  }
}

const pemCerts = (bytes: Buffer) => (bytes.toString('utf8').match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n/g) ?? []).map((p) => new X509Certificate(p));
const spiffeIdOf = (cert: X509Certificate) => cert.subjectAltName?.replace(/^URI:/, '');

function tlsCertificateOf(secret: WireSecret | undefined) {
  assert.ok(secret?.tls_certificate, `a tls_certificate secret, got ${JSON.stringify(secret?.name)}`);
  assert.equal(secret['@type'], secretTypeUrl);
  const chainPem = secret.tls_certificate.certificate_chain.inline_bytes.toString('utf8');
  const keyPem = secret.tls_certificate.private_key.inline_bytes.toString('utf8');
  assert.match(keyPem, /^-----BEGIN PRIVATE KEY-----\n/, 'PEM PKCS#8');
  const chain = pemCerts(Buffer.from(chainPem));
  const leaf = chain[0] as X509Certificate;
  assert.ok(leaf.checkPrivateKey(createPrivateKey(keyPem)), 'the key belongs to the leaf');
  return { leaf, chainPem };
}

function spiffeValidatorOf(secret: WireSecret | undefined) {
  const config = secret?.validation_context?.custom_validator_config;
  assert.ok(config, `the SPIFFE validator form for ${JSON.stringify(secret?.name)}`);
  assert.equal(secret?.validation_context?.trusted_ca, null);
  assert.equal(config.name, 'envoy.tls.cert_validator.spiffe');
  assert.equal(config.typed_config['@type'], 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.SPIFFECertValidatorConfig');
  return config.typed_config.trust_domains.map((td) => ({ name: td.name, cas: pemCerts(td.trust_bundle.inline_bytes) }));
}

function trustedCaOf(secret: WireSecret | undefined): X509Certificate[] {
  const trusted = secret?.validation_context?.trusted_ca;
  assert.ok(trusted, `the trusted_ca form for ${JSON.stringify(secret?.name)}`);
  assert.equal(secret?.validation_context?.custom_validator_config, null);
  return pemCerts(trusted.inline_bytes);
}

const serialOf = (response: WireResponse) => tlsCertificateOf(response.resources[0]).leaf.serialNumber.toLowerCase();

describe('Envoy SDS v3 on the agent public socket', () => {
  let dir: string;
  let server: RunningServer;
  const agents: RunningAgent[] = [];
  const clients: EnvoySdsClient[] = [];
  const streams: EnvoyStream[] = [];

  async function agentWithEntry(name: string, x509SvidTtl: number): Promise<{ agent: RunningAgent; client: EnvoySdsClient; spiffeId: string }> {
    const token = generateSecretToken('sjt');
    server.store.joinTokens.create(hashSecretToken(token), name, Date.now() + 600_000, Date.now());
    const socketPath = join(dir, `${name}.sock`);
    const agent = await startAgent(
      loadAgentConfig(undefined, {}, { trust_domain: 'example.org', server_address: server.agentApi?.address, data_dir: join(dir, name), socket_path: socketPath, insecure_bootstrap: true, health_addr: '127.0.0.1:0', join_token: token }),
      { log: silentLogger },
    );
    agents.push(agent);
    const spiffeId = `spiffe://example.org/${name}/envoy`;
    server.store.transaction(() => {
      const now = Date.now();
      const entry = server.store.entries.create({ spiffeId, parentId: agent.node.identity?.spiffeId as string, selectors: [{ type: 'unix', value: `uid:${uid}` }], dnsNames: [], x509SvidTtl, jwtSvidTtl: 300, hint: '', admin: false }, now);
      server.store.events.append(now, 'entry.created', entry.id);
    });
    const deadline = Date.now() + 15_000;
    while (!agent.svids.all().some((s) => s.spiffeId === spiffeId)) {
      if (Date.now() > deadline) throw new Error(`agent ${name} got no SVID for ${spiffeId}`);
      await sleep(50);
    }
    const client = envoyClient(socketPath);
    clients.push(client);
    return { agent, client, spiffeId };
  }

  const open = (client: EnvoySdsClient) => {
    const stream = new EnvoyStream(client);
    streams.push(stream);
    return stream;
  };

  before(async () => {
    dir = makeTempDir('sigil-sds-');
    server = await startServer(loadServerConfig(undefined, { SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_DATA_DIR: join(dir, 'server'), SIGIL_ADMIN_ADDR: '127.0.0.1:0', SIGIL_AGENT_API_ADDR: '127.0.0.1:0' }), {
      log: silentLogger,
      keyManager: new MemoryKeyManager(),
    });
  });

  after(async () => {
    streams.forEach((s) => s.close());
    clients.forEach((c) => c.close());
    for (const agent of agents) await agent.close();
    await server.close();
    removeDir(dir);
  });

  describe('one long-lived SVID', () => {
    let client: EnvoySdsClient;
    let agent: RunningAgent;
    let spiffeId: string;

    before(async () => {
      ({ agent, client, spiffeId } = await agentWithEntry('steady', 3600));
    });

    it('SDS-03/SDS-05/SDS-11: Envoy subscribes to `default` and `ROOTCA` (no workload.spiffe.io header), gets version and nonce, and an ACK gets nothing', async () => {
      const svidStream = open(client);
      svidStream.send({ node: { id: 'sidecar', cluster: 'web' }, resource_names: ['default'] });
      const svid = await svidStream.next();
      assert.equal(svid.type_url, secretTypeUrl);
      assert.match(svid.version_info, /^[1-9][0-9]*$/);
      assert.match(svid.nonce, /^[0-9a-f]{8}$/);
      assert.equal(svid.resources.length, 1);
      assert.equal(svid.resources[0]?.name, 'default');
      const { leaf, chainPem } = tlsCertificateOf(svid.resources[0]);
      assert.equal(spiffeIdOf(leaf), spiffeId);

      const rootStream = open(client);
      rootStream.send({ node: { id: 'sidecar', cluster: 'web' }, resource_names: ['ROOTCA'] });
      const roots = await rootStream.next();
      assert.equal(roots.resources[0]?.name, 'ROOTCA');
      const trustDomains = spiffeValidatorOf(roots.resources[0]);
      assert.deepEqual(trustDomains.map((td) => td.name), ['example.org']);
      // openssl, not our parser, says the served chain verifies against the served roots.
      writeFileSync(join(dir, 'roots.pem'), trustDomains[0]?.cas.map((c) => c.toString()).join('') ?? '');
      writeFileSync(join(dir, 'chain.pem'), chainPem);
      assert.match(execFileSync('openssl', ['verify', '-CAfile', join(dir, 'roots.pem'), join(dir, 'chain.pem')], { encoding: 'utf8' }), /OK/);

      svidStream.ack(svid, ['default']);
      rootStream.ack(roots, ['ROOTCA']);
      await Promise.all([svidStream.silence(), rootStream.silence()]);
      svidStream.close();
      rootStream.close();
    });

    it('SDS-11: Envoy closing its side of the stream ends it with OK', async () => {
      const stream = open(client);
      stream.send({ resource_names: ['ROOTCA'] });
      await stream.next();
      const status = await stream.finish();
      assert.equal(status.code, grpc.status.OK);
      assert.equal(stream.error, undefined);
    });

    it('SDS-11: a NACK is not answered and the stream goes on; a NACK that changes the names is answered', async () => {
      const stream = open(client);
      stream.send({ resource_names: ['default'] });
      const first = await stream.next();
      stream.send({ version_info: '', response_nonce: first.nonce, resource_names: ['default'], error_detail: { code: 13, message: 'Failed to load certificate chain' } });
      await stream.silence();
      stream.send({ version_info: '', response_nonce: first.nonce, resource_names: ['default', 'ROOTCA'] });
      const second = await stream.next();
      assert.deepEqual(second.resources.map((r) => r.name).sort(), ['ROOTCA', 'default']);
      assert.equal(second.version_info, first.version_info, 'no update, same version');
      assert.notEqual(second.nonce, first.nonce, 'a fresh nonce');
      stream.close();
    });

    it('SDS-11: a request with a stale nonce is ignored; the same request with the last nonce is answered', async () => {
      const stream = open(client);
      stream.send({ resource_names: ['ROOTCA'] });
      const first = await stream.next();
      stream.send({ version_info: first.version_info, response_nonce: 'deadbeef', resource_names: [spiffeId] });
      await stream.silence();
      stream.ack(first, [spiffeId]);
      const second = await stream.next();
      assert.equal(second.resources[0]?.name, spiffeId, 'SDS-02: the SVID by its SPIFFE ID');
      assert.equal(spiffeIdOf(tlsCertificateOf(second.resources[0]).leaf), spiffeId);
      stream.close();
    });

    it('SDS-06: ALL holds the SPIFFE validator with the own trust domain only (no federated bundle)', async () => {
      const stream = open(client);
      stream.send({ resource_names: ['ALL'] });
      const response = await stream.next();
      assert.equal(response.resources[0]?.name, 'ALL');
      assert.deepEqual(spiffeValidatorOf(response.resources[0]).map((td) => td.name), ['example.org']);
      stream.close();
    });

    it('SDS-01: no names is everything: spiffe://example.org and the SVID by its SPIFFE ID', async () => {
      const stream = open(client);
      stream.send({ resource_names: [] });
      const response = await stream.next();
      assert.deepEqual(response.resources.map((r) => r.name), ['spiffe://example.org', spiffeId]);
      stream.close();
    });

    it('SDS-08/SDS-09: node metadata disable_spiffe_cert_validation gives trusted_ca, and then ALL fails with Internal', async () => {
      const node = { id: 'sidecar', metadata: { fields: { disable_spiffe_cert_validation: { stringValue: 'true' } } } };
      const stream = open(client);
      stream.send({ node, resource_names: ['spiffe://example.org'] });
      const response = await stream.next();
      assert.equal(response.resources[0]?.name, 'spiffe://example.org');
      const cas = trustedCaOf(response.resources[0]);
      assert.ok(cas.length >= 1);
      assert.ok(cas.every((ca) => ca.ca && spiffeIdOf(ca) === 'spiffe://example.org'));
      stream.ack(response, ['ALL']);
      const err = await stream.failure();
      assert.equal(err.code, grpc.status.INTERNAL);
      assert.equal(err.details, 'unable to use "SPIFFE validator" on Envoy below 1.17');
    });

    it('SDS-08: an Envoy older than 1.18 (by user_agent_build_version) gets trusted_ca', async () => {
      const stream = open(client);
      stream.send({ node: { id: 'old', user_agent_build_version: { version: { major_number: 1, minor_number: 17, patch: 4 } } }, resource_names: ['ROOTCA'] });
      trustedCaOf((await stream.next()).resources[0]);
      stream.close();
    });

    it('SDS-07: a name the caller is not authorized for ends the stream with SPIRE\'s InvalidArgument text', async () => {
      const stream = open(client);
      stream.send({ resource_names: ['default', 'spiffe://example.org/someone-else', 'ROOTCA', 'ALL'] });
      const err = await stream.failure();
      assert.equal(err.code, grpc.status.INVALID_ARGUMENT);
      assert.equal(err.details, 'workload is not authorized for the requested identities ["ALL" "spiffe://example.org/someone-else"]');
    });

    it('SDS-12: FetchSecrets answers once, with no version and no nonce; SDS-07 fails the call', async () => {
      const fetch = (req: EnvoyRequest) => new Promise<WireResponse>((resolve, reject) => client.FetchSecrets({ type_url: secretTypeUrl, ...req }, (err, res) => (err ? reject(err) : resolve(res as WireResponse))));
      const response = await fetch({ resource_names: ['default', 'ROOTCA'] });
      assert.deepEqual(response.resources.map((r) => r.name).sort(), ['ROOTCA', 'default']);
      assert.equal(response.version_info, '');
      assert.equal(response.nonce, '');
      await assert.rejects(fetch({ resource_names: ['nope'] }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT && err.details === 'workload is not authorized for the requested identities ["nope"]');
    });

    it('DeltaSecrets is Unimplemented, as in SPIRE', async () => {
      const call = client.DeltaSecrets();
      const err = await new Promise<grpc.ServiceError>((resolve) => call.on('error', resolve));
      assert.equal(err.code, grpc.status.UNIMPLEMENTED);
      assert.equal(err.details, 'Method is not implemented');
    });

    it('SDS-11: a bundle change (a prepared authority) is pushed to ROOTCA with a new version and nonce', async () => {
      const stream = open(client);
      stream.send({ resource_names: ['ROOTCA'] });
      const first = await stream.next();
      stream.ack(first, ['ROOTCA']);
      const before = spiffeValidatorOf(first.resources[0])[0]?.cas.length ?? 0;
      await server.ca.authorities.prepare('x509');
      const pushed = await stream.next();
      assert.equal(Number(pushed.version_info), Number(first.version_info) + 1);
      assert.notEqual(pushed.nonce, first.nonce);
      assert.equal(spiffeValidatorOf(pushed.resources[0])[0]?.cas.length, before + 1);
      stream.close();
    });

    it('SDS-11: revoking the SVID pushes its replacement on the open stream, never the revoked one', async () => {
      const stream = open(client);
      stream.send({ resource_names: ['default'] });
      const first = await stream.next();
      stream.ack(first, ['default']);
      await stream.silence(100);
      const revoked = serialOf(first);
      const revokedAt = Date.now();
      await server.context.revocations.revoke({ selector: { serial: revoked }, reason: 'keyCompromise', actor: 'test' });
      const pushed = await stream.next();
      assert.ok(Date.now() - revokedAt < 2000, `pushed after ${Date.now() - revokedAt} ms`);
      assert.notEqual(serialOf(pushed), revoked);
      assert.ok(Number(pushed.version_info) > Number(first.version_info));
      assert.notEqual(pushed.nonce, first.nonce);
      assert.equal(agent.svids.all().find((s) => s.spiffeId === spiffeId)?.serial.toLowerCase().replace(/^0+/, ''), serialOf(pushed).replace(/^0+/, ''));
      stream.close();
    });

    it('SDS-06: ALL includes a federated trust domain when one is passed in; SDS-09: sds.disable_spiffe_cert_validation gives trusted_ca', async () => {
      const partnerCa = await issue(caSpec('partner.org', { notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) }));
      const self: Caller = { pid: process.pid, uid, gid: process.getgid?.() ?? 0, process: new CallerProcess(process.pid) };
      const base: SdsDeps = { node: agent.node, sync: agent.sync, svids: agent.svids, clock: systemClock, log: silentLogger, hashCache: new ExecutableHashCache(), callerOf: () => self };
      const serve = async (path: string, deps: SdsDeps) => {
        const s = new grpc.Server();
        s.addService(sdsServiceDefinition(), sdsHandlers(deps));
        await new Promise<void>((resolve, reject) => s.bindAsync(`unix://${path}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())));
        return s;
      };
      const federated = await serve(join(dir, 'federated.sock'), { ...base, federatedBundles: () => [{ trustDomain: 'partner.org', x509AuthoritiesDer: [partnerCa.der] }] });
      const disabled = await serve(join(dir, 'disabled.sock'), { ...base, sds: { default_svid_name: 'svid', default_bundle_name: 'roots', default_all_bundles_name: 'everything', disable_spiffe_cert_validation: true } });
      try {
        const federatedClient = envoyClient(join(dir, 'federated.sock'));
        clients.push(federatedClient);
        const all = open(federatedClient);
        all.send({ resource_names: ['ALL'] });
        const trustDomains = spiffeValidatorOf((await all.next()).resources[0]);
        assert.deepEqual(trustDomains.map((td) => td.name), ['example.org', 'partner.org']);
        assert.equal(trustDomains[1]?.cas[0]?.fingerprint256, new X509Certificate(partnerCa.der).fingerprint256);
        all.close();

        const disabledClient = envoyClient(join(dir, 'disabled.sock'));
        clients.push(disabledClient);
        const stream = open(disabledClient);
        stream.send({ resource_names: ['roots', 'svid'] });
        const response = await stream.next();
        assert.deepEqual(response.resources.map((r) => r.name).sort(), ['roots', 'svid']);
        trustedCaOf(response.resources.find((r) => r.name === 'roots'));
        stream.close();
        // Node metadata turns the validator back on for this Envoy (SDS-09).
        const overridden = open(disabledClient);
        overridden.send({ node: { id: 'n', metadata: { fields: { disable_spiffe_cert_validation: { boolValue: false } } } }, resource_names: ['everything'] });
        assert.deepEqual(spiffeValidatorOf((await overridden.next()).resources[0]).map((td) => td.name), ['example.org']);
        overridden.close();
      } finally {
        federated.forceShutdown();
        disabled.forceShutdown();
      }
    });
  });

  describe('an SVID that rotates every few seconds', () => {
    it('SDS-11: `default` is pushed on rotation with a new version, nonce and certificate, and again after the ACK', async () => {
      const { client, spiffeId } = await agentWithEntry('rotating', 4);
      const stream = open(client);
      stream.send({ resource_names: ['default'] });
      const first = await stream.next();
      assert.equal(spiffeIdOf(tlsCertificateOf(first.resources[0]).leaf), spiffeId);
      stream.ack(first, ['default']);
      const rotated = await stream.next(8_000);
      assert.equal(Number(rotated.version_info), Number(first.version_info) + 1);
      assert.notEqual(rotated.nonce, first.nonce);
      assert.notEqual(serialOf(rotated), serialOf(first));
      assert.equal(spiffeIdOf(tlsCertificateOf(rotated.resources[0]).leaf), spiffeId);
      stream.ack(rotated, ['default']);
      const again = await stream.next(8_000);
      assert.equal(Number(again.version_info), Number(rotated.version_info) + 1);
      stream.close();
    });
  });
});
