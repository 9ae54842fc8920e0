import assert from 'node:assert/strict';
import { X509Certificate, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import fc from 'fast-check';
import { decodeJwt } from 'jose';
import type { ServerClient } from '../../src/agent/node/server-client.js';
import type { AgentIdentity } from '../../src/agent/node/agent-state.js';
import type { AgentStatusReport, SyncMessage } from '../../src/common/grpc/agent-api-types.js';
import { createCsr } from '../../src/pki/csr.js';
import { exportPublicKeySpki, generateKeyPair } from '../../src/pki/keys.js';
import { reportedStatusOf } from '../../src/server/agent-api/status-report.js';
import type { Entry } from '../../src/store/entries.js';
import { agentApiTrustDomain as td, asServerSees, rawAgentApiClient, serializeAgentRequest, startAgentApiServer, type AgentApiServer, type AgentRpc } from '../helpers/agent-api-server.js';
import { anyString, byteMutations, fuzzParameters, mutateBytes } from '../helpers/fuzz.js';
import { containsControlCharacter } from '../../src/common/text.js';

// Issue 8, fuzzing the agent API: a real attested agent (mTLS, Sigil's own client) sends
// random and mutated requests to every RPC. The server always answers with a status, never
// INTERNAL except where gRPC itself cannot decode the bytes, and issues nothing for what the
// agent is not authorized for.

describe('fuzz: agent API messages from an attested agent (issue 8)', () => {
  let api: AgentApiServer;
  let agent: AgentIdentity;
  let client: ServerClient;
  let authorized: Entry[];
  let entryOfOther: string;
  /** Valid CSRs and the SPKI (hex) of each one's key. */
  const csrs: { der: Buffer; spki: string }[] = [];

  before(async () => {
    api = await startAgentApiServer();
    agent = await api.attest();
    const other = await api.attest();
    api.createEntry('a/web', agent.spiffeId);
    api.createEntry('a/web/sidecar', `spiffe://${td}/a/web`);
    entryOfOther = api.createEntry('b/db', other.spiffeId);
    authorized = api.server.store.entries.authorizedFor(agent.spiffeId);
    assert.equal(authorized.length, 2);
    for (let i = 0; i < 3; i++) {
      const keys = await generateKeyPair('ec-p256');
      csrs.push({ der: Buffer.from(await createCsr(keys)), spki: Buffer.from(await exportPublicKeySpki(keys.publicKey)).toString('hex') });
    }
    client = await api.clientFor(agent);
  });

  after(async () => {
    client?.close();
    await api?.close();
  });

  const issuedForOther = () => api.server.store.issuedSvids.list({ entryId: entryOfOther }, { pageSize: 10 }).items.length;
  const authorizedIds = () => new Set(authorized.map((e) => e.id));
  const entryId = () => fc.oneof({ weight: 3, arbitrary: fc.constantFrom(...authorized.map((e) => e.id)) }, { weight: 2, arbitrary: fc.constant(entryOfOther) }, { weight: 1, arbitrary: fc.constant(randomUUID()) }, { weight: 1, arbitrary: anyString(40) });

  type CsrChoice = { kind: 'valid'; index: number } | { kind: 'mutated'; index: number; bytes: Buffer } | { kind: 'garbage'; bytes: Buffer };
  const csrChoice = (): fc.Arbitrary<CsrChoice> =>
    fc.oneof(
      { weight: 3, arbitrary: fc.nat(csrs.length - 1).map((index): CsrChoice => ({ kind: 'valid', index })) },
      { weight: 2, arbitrary: fc.tuple(fc.nat(csrs.length - 1), byteMutations).map(([index, m]): CsrChoice => ({ kind: 'mutated', index, bytes: Buffer.from(mutateBytes(csrs[index]?.der as Buffer, m)) })) },
      { weight: 1, arbitrary: fc.oneof(fc.uint8Array({ maxLength: 200 }), fc.constant(new Uint8Array(0))).map((b): CsrChoice => ({ kind: 'garbage', bytes: Buffer.from(b) })) },
    );
  const csrBytes = (c: CsrChoice) => (c.kind === 'valid' ? (csrs[c.index]?.der as Buffer) : c.bytes);
  const leafSpki = (chain: Buffer[]) => new X509Certificate(chain[0] as Buffer).publicKey.export({ format: 'der', type: 'spki' }).toString('hex');

  it('SignX509Svids with random entry ids and valid, mutated or garbage CSRs: an SVID exactly for authorized entries and a key the CSR proves', async () => {
    const before = issuedForOther();
    await fc.assert(
      fc.asyncProperty(fc.array(fc.record({ entry: entryId(), csr: csrChoice() }), { maxLength: 6 }), async (requests) => {
        const sent = { requests: requests.map((r) => ({ entry_id: r.entry, csr: csrBytes(r.csr) })) };
        const res = await client.signX509Svids(sent);
        const seen = asServerSees('SignX509Svids', sent).requests;
        assert.equal(res.results.length, requests.length);
        requests.forEach((request, i) => {
          const result = res.results[i] as (typeof res.results)[number];
          assert.equal(result.entry_id, seen[i]?.entry_id);
          const entry = authorized.find((e) => e.id === request.entry);
          if (!entry) {
            assert.equal(result.svid_chain.length, 0, `no SVID for ${request.entry}`);
            assert.match(result.error, /is not authorized for this agent/);
            return;
          }
          if (request.csr.kind === 'garbage' || (request.csr.kind === 'mutated' && result.svid_chain.length === 0)) {
            assert.equal(result.svid_chain.length, 0);
            assert.notEqual(result.error, '');
            return;
          }
          assert.equal(result.error, '', `an authorized entry with a valid CSR is signed: ${result.error}`);
          const leaf = new X509Certificate(result.svid_chain[0] as Buffer);
          assert.equal(leaf.subjectAltName, `URI:${entry.spiffeId}`);
          assert.equal(leafSpki(result.svid_chain), csrs[request.csr.index]?.spki, 'the SVID is for the key the CSR proves');
        });
      }),
      fuzzParameters(851, 60),
    );
    assert.equal(issuedForOther(), before, "nothing was issued for the other agent's entry");
  });

  it('SignX509Svids: more than 500 CSRs in one call is InvalidArgument, and nothing is issued', async () => {
    const before = api.server.store.issuedSvids.list({}, { pageSize: 1000 }).items.length;
    await assert.rejects(client.signX509Svids({ requests: Array.from({ length: 501 }, () => ({ entry_id: authorized[0]?.id as string, csr: csrs[0]?.der as Buffer })) }), (err: grpc.ServiceError) => err.code === grpc.status.INVALID_ARGUMENT);
    assert.equal(api.server.store.issuedSvids.list({}, { pageSize: 1000 }).items.length, before);
  });

  it('MintJwtSvid with random entry ids and audiences: a token only for an authorized entry, naming exactly the audiences asked (J-06, J-07)', async () => {
    const audience = fc.array(fc.oneof(anyString(30), fc.constantFrom('', 'db', 'spiffe://example.org/db')), { maxLength: 10 });
    await fc.assert(
      fc.asyncProperty(entryId(), audience, async (entry, aud) => {
        const wanted = asServerSees('MintJwtSvid', { entry_id: entry, audience: aud }).audience.filter((a) => a !== '');
        const authorizedEntry = authorized.find((e) => e.id === entry);
        let answer: { token: string } | grpc.ServiceError;
        try {
          answer = await client.mintJwtSvid({ entry_id: entry, audience: aud });
        } catch (err) {
          answer = err as grpc.ServiceError;
        }
        if (!authorizedEntry) {
          assert.equal((answer as grpc.ServiceError).code, grpc.status.PERMISSION_DENIED, JSON.stringify(answer));
          return;
        }
        if (wanted.length === 0 || wanted.some(containsControlCharacter)) {
          assert.equal((answer as grpc.ServiceError).code, grpc.status.INVALID_ARGUMENT, JSON.stringify(answer));
          return;
        }
        assert.ok('token' in answer, `minted for an authorized entry: ${(answer as grpc.ServiceError).details}`);
        const claims = decodeJwt(answer.token);
        assert.equal(claims.sub, authorizedEntry.spiffeId);
        assert.deepEqual(claims.aud, wanted);
      }),
      fuzzParameters(852, 80),
    );
  });

  it('Sync with random known entries, event ids and bundle sequences: the first entry message is the exact difference, never another agent\'s entry', async () => {
    const known = fc.array(fc.record({ id: fc.oneof(entryId(), fc.constant(entryOfOther)), revision: fc.oneof(fc.constantFrom(...authorized.map((e) => e.revision)), fc.integer(), fc.constantFrom(-1, 2 ** 53)) }), { maxLength: 8 });
    await fc.assert(
      fc.asyncProperty(known, fc.oneof(fc.nat(), fc.constant(2 ** 53)), anyString(20), async (knownEntries, afterEventId, bundleSequence) => {
        const request = { after_event_id: afterEventId, known_entries: knownEntries, bundle_sequence: bundleSequence };
        const stream = client.sync(request);
        try {
          const first = await new Promise<SyncMessage>((resolve, reject) => {
            stream.on('data', (m: SyncMessage) => m.entries && resolve(m));
            stream.on('error', reject);
          });
          const claimed = new Map(asServerSees('Sync', request).known_entries.map((k) => [k.id, Number(k.revision)]));
          const upserted = first.entries?.upserted ?? [];
          assert.ok(upserted.every((e) => authorizedIds().has(e.id)), `only authorized entries: ${upserted.map((e) => e.spiffe_id).join(', ')}`);
          assert.deepEqual(upserted.map((e) => e.id).sort(), authorized.filter((e) => claimed.get(e.id) !== e.revision).map((e) => e.id).sort());
          assert.deepEqual([...(first.entries?.removed ?? [])].sort(), [...claimed.keys()].filter((id) => !authorizedIds().has(id)).sort());
        } finally {
          stream.cancel();
        }
      }),
      fuzzParameters(853, 40),
    );
  });

  it('ReportStatus with random values: accepted, and what is stored is bounded (at most 16 problems of 1000 characters)', async () => {
    const uint32 = fc.oneof(fc.nat(10), fc.constantFrom(0, 2 ** 31 - 1, 2 ** 32 - 1));
    const report = fc.record({
      revocation_problems: fc.array(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constant('p'.repeat(5000))), { maxLength: 30 }),
      entries: uint32,
      entries_without_svid: uint32,
      max_svids: uint32,
      cached_svids: uint32,
      withheld_crls: uint32,
    });
    await fc.assert(
      fc.asyncProperty(report, async (sent: AgentStatusReport) => {
        await client.reportStatus(sent);
        const stored = api.server.store.agents.get(agent.agentId)?.reportedStatus;
        assert.deepEqual(stored, reportedStatusOf(sent));
        assert.ok((stored?.revocationProblems.length ?? 0) <= 16 && (stored?.revocationProblems ?? []).every((p) => p.length <= 1000));
      }),
      fuzzParameters(854, 60),
    );
  });

  it('mutated and random protobuf bytes on every unary RPC: a status, INTERNAL only when gRPC cannot decode the bytes; nothing for what is not authorized', async () => {
    const raw = await rawAgentApiClient(api, agent);
    const valid: Record<AgentRpc, Buffer> = {
      AttestAgent: serializeAgentRequest('AttestAgent', { join_token: 'sjt_not-a-token', csr: csrs[0]?.der }),
      RenewAgent: serializeAgentRequest('RenewAgent', { csr: csrs[1]?.der }),
      SignX509Svids: serializeAgentRequest('SignX509Svids', { requests: [{ entry_id: authorized[0]?.id, csr: csrs[0]?.der }, { entry_id: entryOfOther, csr: csrs[1]?.der }] }),
      MintJwtSvid: serializeAgentRequest('MintJwtSvid', { entry_id: entryOfOther, audience: ['db'] }),
      ReportStatus: serializeAgentRequest('ReportStatus', { revocation_problems: ['x'], entries: 3, entries_without_svid: 0, max_svids: 5, cached_svids: 3, withheld_crls: 0 }),
    };
    const agentsBefore = api.server.store.agents.list({}, { pageSize: 100 }).items.length;
    const before = issuedForOther();
    try {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...(Object.keys(valid) as AgentRpc[])), fc.oneof(byteMutations.map((m) => ({ mutations: m })), fc.uint8Array({ maxLength: 300 }).map((b) => ({ random: Buffer.from(b) }))), async (rpc, how) => {
          const bytes = 'random' in how ? how.random : Buffer.from(mutateBytes(valid[rpc], how.mutations));
          const answer = await raw.call(rpc, bytes);
          if (!answer.ok && answer.code === grpc.status.INTERNAL) assert.match(answer.details, /^Error deserializing request/, `${rpc}: INTERNAL from the handler: ${answer.details}`);
          if (!answer.ok) assert.notEqual(answer.code, grpc.status.UNKNOWN, `${rpc}: ${answer.details}`);
          if (rpc === 'AttestAgent') assert.ok(!answer.ok, 'no mutation of an unknown join token attests');
        }),
        fuzzParameters(855, 200),
      );
      assert.equal(issuedForOther(), before, "nothing was issued for the other agent's entry");
      assert.equal(api.server.store.agents.list({}, { pageSize: 100 }).items.length, agentsBefore, 'no agent was attested');
      const after = await raw.call('ReportStatus', valid.ReportStatus);
      assert.ok(after.ok, 'the server still serves');
    } finally {
      raw.close();
    }
  });

  it('AttestAgent with random join tokens and CSRs: never an agent, PermissionDenied or InvalidArgument', async () => {
    const anonymous = api.anonymousClient();
    const agentsBefore = api.server.store.agents.list({}, { pageSize: 100 }).items.length;
    try {
      await fc.assert(
        fc.asyncProperty(fc.oneof(anyString(60), fc.constantFrom('', 'sjt_', `sjt_${'A'.repeat(43)}`)), csrChoice(), async (token, csr) => {
          await assert.rejects(anonymous.attest({ join_token: token, csr: csrBytes(csr) }), (err: grpc.ServiceError) => {
            assert.ok(err.code === grpc.status.PERMISSION_DENIED || err.code === grpc.status.INVALID_ARGUMENT, `${err.code} ${err.details}`);
            return true;
          });
        }),
        fuzzParameters(856, 60),
      );
    } finally {
      anonymous.close();
    }
    assert.equal(api.server.store.agents.list({}, { pageSize: 100 }).items.length, agentsBefore);
  });
});
