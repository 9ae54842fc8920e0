import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import type { RunningAgent } from '../../../src/agent/agent.js';
import { applyTrustMessage, emptyTrustState } from '../../../src/agent/sync/trust-state.js';
import { crlIssuerTemplate, encodeRevokedCertificate, encodeTbsCertList, signCrl } from '../../../src/pki/crl-der.js';
import { createSelfSignedCaCertificate } from '../../../src/pki/certificates.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import type { RunningServer } from '../../../src/server/server.js';
import type { CrlRecord } from '../../../src/store/crls.js';
import { createEntry, startInProcessAgent, startInProcessServer } from '../../helpers/in-process-sigil.js';
import { tempDir } from '../../helpers/test-server.js';
import { until } from '../../helpers/until.js';

async function crlListing(serials: string[]): Promise<Buffer> {
  const keys = await generateKeyPair('ec-p256');
  const certificate = await createSelfSignedCaCertificate(keys, { trustDomain: 'example.org', subject: 'C=US, O=Sigil', notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3_600_000) });
  const template = await crlIssuerTemplate({ certificate, keys });
  const revokedCertificatesDer = Buffer.concat(serials.map((serialHex) => encodeRevokedCertificate({ serialHex, revokedAt: new Date(), reason: 'keyCompromise' })));
  const tbs = encodeTbsCertList(template, { crlNumber: 1, thisUpdate: new Date(), nextUpdate: new Date(Date.now() + 3_600_000), revokedCertificatesDer });
  return Buffer.from(await signCrl(template, tbs, keys.privateKey));
}

const message = (crls: Buffer[]) => ({ tainted_x509_authorities: [], tainted_jwt_kids: [], crls });

describe('applyTrustMessage (issue 15 item 1)', () => {
  it('reads 100,000 revoked serials from one CRL', async () => {
    const serials = Array.from({ length: 100_000 }, (_, i) => `7f${i.toString(16).padStart(30, '0')}`);
    const state = applyTrustMessage(message([await crlListing(serials)]), emptyTrustState, 64 * 1024 * 1024, 1000);
    assert.equal(state.revokedSerials.size, 100_000);
    assert.ok(state.revokedSerials.has(serials[54_321] as string));
    assert.deepEqual(state.problems, []);
    assert.equal(state.replaceSvidsReceivedBefore, undefined);
  });

  it('a CRL that cannot be read keeps every serial revoked so far, names the problem, and asks once for the SVIDs held before it to be replaced', async () => {
    const good = applyTrustMessage(message([await crlListing(['0a', '0b'])]), emptyTrustState, 1 << 20, 1000);
    const garbage = Buffer.from('30820100deadbeef', 'hex');
    const broken = applyTrustMessage(message([garbage]), good, 1 << 20, 2000);
    assert.deepEqual([...broken.revokedSerials].sort(), ['0a', '0b'], 'nothing revoked is forgotten');
    assert.equal(broken.problems.length, 1);
    assert.match(broken.problems[0] as string, /^CRL 1 of 1 \(sha256 [0-9a-f]{16}…, 8 bytes\) cannot be read: .*at byte/);
    assert.equal(broken.replaceSvidsReceivedBefore, 2000);
    const again = applyTrustMessage(message([garbage]), broken, 1 << 20, 3000);
    assert.equal(again.replaceSvidsReceivedBefore, undefined, 'the same unreadable CRL again replaces nothing more');
    assert.equal(again.problems.length, 1, 'and is still a problem');
    const healed = applyTrustMessage(message([await crlListing(['0c'])]), again, 1 << 20, 4000);
    assert.deepEqual(healed.problems, []);
    assert.deepEqual([...healed.revokedSerials], ['0c']);
  });

  it('CRLs over workload_crl_max_bytes are withheld from workloads but applied by the agent', async () => {
    const small = await crlListing(['01']);
    const big = await crlListing(Array.from({ length: 2000 }, (_, i) => (i + 16).toString(16)));
    const state = applyTrustMessage(message([big, small]), emptyTrustState, small.length + 100, 1000);
    assert.deepEqual(state.crlsDer.map((c) => c.length), [small.length]);
    assert.equal(state.withheldCrls, 1);
    assert.equal(state.revokedSerials.size, 2001);
    const none = applyTrustMessage(message([small]), emptyTrustState, 0, 1000);
    assert.deepEqual(none.crlsDer, []);
    assert.equal(none.crlsFingerprint, '');
    assert.notEqual(state.crlsFingerprint, '');
  });
});

describe('an agent that cannot apply a revocation fails closed and loudly', () => {
  let dir: string;
  let server: RunningServer;
  let agent: RunningAgent;

  before(async () => {
    dir = tempDir('sigil-fail-closed-');
    server = await startInProcessServer(dir);
    agent = await startInProcessAgent(server, dir);
    createEntry(server, 'spiffe://example.org/w', agent.node.identity?.spiffeId as string, 0);
    await until(() => agent.svids.size === 1 && agent.readiness().ready, 'an SVID and readiness');
  });

  after(async () => {
    await agent?.close();
    await server?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('not ready, SVIDs replaced, reported to the server as agent.revocation_failed and shown on the agent record', async () => {
    const before = agent.svids.all()[0]?.serial;
    const genuine = server.context.crls.current.bind(server.context.crls);
    // The server's CRL publisher is made to hand out a corrupted CRL (a transfer or a bug): the
    // one way to reach the agent's failure path with a real server and agent.
    server.context.crls.current = (): CrlRecord[] => genuine().map((c) => ({ ...c, crlNumber: c.crlNumber + 1000, der: c.der.subarray(0, c.der.length - 5) }));
    try {
      server.store.transaction(() => server.store.events.append(Date.now(), 'crl.published', 'test', {}));
      await until(() => !agent.readiness().ready, 'not ready');
      assert.match(agent.readiness().reason, /^cannot apply revocations: CRL 1 of 1 .* cannot be read/);
      await until(() => agent.svids.size === 1 && agent.svids.all()[0]?.serial !== before, 'a replacement SVID');
      await until(() => server.store.agents.get(agent.node.identity?.spiffeId.split('/').pop() as string)?.reportedStatus?.revocationProblems.length === 1, 'the report on the server');
      const events = server.store.events.listAfter(0, 10_000).filter((e) => e.type === 'agent.revocation_failed');
      assert.equal(events.length, 1);
      const metrics = await agent.health.registry.metrics();
      assert.match(metrics, /^sigil_agent_revocation_problems 1$/m);
    } finally {
      server.context.crls.current = genuine;
    }
    server.store.transaction(() => server.store.events.append(Date.now(), 'crl.published', 'test', {}));
    await until(() => agent.readiness().ready, 'ready again once the CRL can be read');
  });
});
