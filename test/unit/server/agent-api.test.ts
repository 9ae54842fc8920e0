import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { ServerClient } from '../../../src/agent/node/server-client.js';
import type { AgentIdentity } from '../../../src/agent/node/agent-state.js';
import type { SyncMessage } from '../../../src/common/grpc/agent-api-types.js';
import { createCsr } from '../../../src/pki/csr.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import type { RunningServer } from '../../../src/server/server.js';
import { agentApiTrustDomain as trustDomain, csrDer as csr, startAgentApiServer, type AgentApiServer } from '../../helpers/agent-api-server.js';

// A real server with its agent API on a real TLS port, and agents played by Sigil's own
// ServerClient (the same code the agent runs), over real mutual TLS.

let api: AgentApiServer;
let server: RunningServer;
let address: string;

const newJoinToken = (expiresInMs?: number) => api.newJoinToken(expiresInMs);
const roots = () => api.roots();
const attest = (token: string) => api.attest(token);
const entry = (spiffePath: string, parentId: string) => api.createEntry(spiffePath, parentId);

const isCode = (code: grpc.status, pattern: RegExp) => (err: grpc.ServiceError) => err.code === code && pattern.test(err.details);

before(async () => {
  api = await startAgentApiServer();
  server = api.server;
  address = api.address;
});

after(async () => {
  await api.close();
});

describe('node attestation', () => {
  it('a join token works once; the agent SVID names the agent, not the token', async () => {
    const token = newJoinToken();
    const identity = await attest(token);
    assert.match(identity.spiffeId, /^spiffe:\/\/example\.org\/sigil\/agent\/join_token\/[0-9a-f-]{36}$/);
    assert.ok(!identity.spiffeId.includes(token));
    assert.equal(server.store.agents.get(identity.agentId)?.spiffeId, identity.spiffeId);
    await assert.rejects(attest(token), /join token is used/);
  });

  it('unknown and expired tokens are refused, and nothing is recorded for them', async () => {
    const before = server.store.agents.list({}, { pageSize: 100 }).items.length;
    await assert.rejects(attest('sjt_not-a-token'), /join token is not valid/);
    await assert.rejects(attest(newJoinToken(-1000)), /join token is expired/);
    assert.equal(server.store.agents.list({}, { pageSize: 100 }).items.length, before);
    const refused = server.store.audit.list({ action: 'agent.attest', result: 'error' }, { pageSize: 100 }).items;
    assert.ok(refused.length >= 2);
  });

  it('the server is authenticated by its SPIFFE ID: a client expecting another trust domain refuses it', async () => {
    const keys = await generateKeyPair('ec-p256');
    const client = ServerClient.forAttestation(address, { trustDomain: 'other.org', rootsPem: roots() });
    try {
      await assert.rejects(client.attest({ join_token: newJoinToken(), csr: Buffer.from(await createCsr(keys)) }), (err: grpc.ServiceError) => err.code === grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });
});

describe('agent authorization', () => {
  let a: AgentIdentity;
  let b: AgentIdentity;
  let entryA: string;
  let nestedA: string;
  let entryB: string;

  before(async () => {
    a = await attest(newJoinToken());
    b = await attest(newJoinToken());
    entryA = entry('a/web', a.spiffeId);
    nestedA = entry('a/web/sidecar', `spiffe://${trustDomain}/a/web`);
    entryB = entry('b/db', b.spiffeId);
  });

  it('an agent gets SVIDs for its entries and nested ones, never for another agent\'s (refusal audited)', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, a);
    try {
      const res = await client.signX509Svids({ requests: [{ entry_id: entryA, csr: await csr() }, { entry_id: nestedA, csr: await csr() }, { entry_id: entryB, csr: await csr() }] });
      const byEntry = new Map(res.results.map((r) => [r.entry_id, r]));
      assert.equal(byEntry.get(entryA)?.error, '');
      assert.equal(byEntry.get(nestedA)?.error, '');
      assert.match(byEntry.get(entryB)?.error ?? '', /is not authorized for this agent/);
      assert.equal(byEntry.get(entryB)?.svid_chain.length, 0);
      const leaf = new X509Certificate(byEntry.get(entryA)?.svid_chain[0] as Buffer);
      assert.equal(leaf.subjectAltName, `URI:spiffe://${trustDomain}/a/web`);
      const denied = server.store.audit.list({ action: 'agent.sign_x509_svid', result: 'error' }, { pageSize: 100 }).items;
      assert.ok(denied.some((r) => r.target === entryB && r.actor === `agent:${a.agentId}`));
      await assert.rejects(client.mintJwtSvid({ entry_id: entryB, audience: ['x'] }), isCode(grpc.status.PERMISSION_DENIED, /not authorized/));
      const jwt = await client.mintJwtSvid({ entry_id: entryA, audience: ['x'] });
      assert.equal(jwt.token.split('.').length, 3);
    } finally {
      client.close();
    }
  });

  it('the sync stream sends exactly the authorized entries, then changes as they happen', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, a);
    const stream = client.sync({ after_event_id: 0, known_entries: [], bundle_sequence: '' });
    const messages: SyncMessage[] = [];
    const waitFor = async (predicate: () => boolean) => {
      const deadline = Date.now() + 5000;
      while (!predicate()) {
        if (Date.now() > deadline) throw new Error(`timed out; got ${JSON.stringify(messages.map((m) => m.change))}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    stream.on('data', (m: SyncMessage) => messages.push(m));
    stream.on('error', () => undefined);
    try {
      await waitFor(() => messages.some((m) => m.entries) && messages.some((m) => m.bundle));
      const first = messages.find((m) => m.entries)?.entries;
      assert.deepEqual(first?.upserted.map((e) => e.id).sort(), [entryA, nestedA].sort());
      const added = entry('a/api', a.spiffeId);
      entry('b/other', b.spiffeId);
      await waitFor(() => messages.some((m) => m.entries?.upserted.some((e) => e.id === added)));
      assert.ok(!messages.some((m) => m.entries?.upserted.some((e) => e.spiffe_id.includes('/b/'))), 'nothing of agent B');
      const now = Date.now();
      server.store.transaction(() => {
        server.store.entries.delete(added);
        server.store.events.append(now, 'entry.deleted', added);
      });
      await waitFor(() => messages.some((m) => m.entries?.removed.includes(added)));
    } finally {
      stream.cancel();
      client.close();
    }
  });

  it('a resume sends only what differs from what the agent holds', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, a);
    const current = server.store.entries.authorizedFor(a.spiffeId);
    const stream = client.sync({ after_event_id: 1, known_entries: [...current.map((e) => ({ id: e.id, revision: e.revision })), { id: 'gone-entry', revision: 3 }], bundle_sequence: server.ca.bundleSequence().toString() });
    try {
      const first = await new Promise<SyncMessage>((resolve, reject) => {
        stream.once('data', resolve);
        stream.once('error', reject);
      });
      assert.deepEqual(first.entries?.upserted, []);
      assert.deepEqual(first.entries?.removed, ['gone-entry']);
    } finally {
      stream.cancel();
      client.close();
    }
  });

  it('calls without a client certificate are Unauthenticated', async () => {
    const client = ServerClient.forAttestation(address, { trustDomain, rootsPem: roots() });
    try {
      await assert.rejects(client.signX509Svids({ requests: [] }), isCode(grpc.status.UNAUTHENTICATED, /client certificate/));
    } finally {
      client.close();
    }
  });

  it('a bad CSR is InvalidArgument on renewal; a good one renews', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, a);
    try {
      await assert.rejects(client.renew({ csr: Buffer.from('nope') }), isCode(grpc.status.INVALID_ARGUMENT, /csr/));
      const renewed = await client.renew({ csr: await csr() });
      assert.equal(new X509Certificate(renewed.svid_chain[0] as Buffer).subjectAltName, `URI:${a.spiffeId}`);
    } finally {
      client.close();
    }
  });

  it('a banned agent is refused and its open stream is told; an evicted one and a revoked agent SVID are refused', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, b);
    const stream = client.sync({ after_event_id: 0, known_entries: [], bundle_sequence: '' });
    const statuses: string[] = [];
    stream.on('data', (m: SyncMessage) => m.status && statuses.push(m.status.state));
    stream.on('error', () => undefined);
    try {
      await new Promise((r) => stream.once('data', r));
      const now = Date.now();
      server.store.transaction(() => {
        server.store.agents.ban(b.agentId, now);
        server.store.events.append(now, 'agent.banned', b.agentId);
      });
      const deadline = Date.now() + 5000;
      while (!statuses.includes('banned') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(statuses, ['banned']);
      await assert.rejects(client.signX509Svids({ requests: [] }), isCode(grpc.status.PERMISSION_DENIED, /agent is banned/));
    } finally {
      stream.cancel();
      client.close();
    }
    const d = await attest(newJoinToken());
    const dSerial = new X509Certificate(d.svidChainDer[0] as Uint8Array).serialNumber.toLowerCase();
    server.store.db.prepare('UPDATE issued_svids SET revoked_at = ?, revocation_reason = ? WHERE serial = ?').run(Date.now(), 'keyCompromise', dSerial);
    const revokedClient = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, d);
    try {
      await assert.rejects(revokedClient.signX509Svids({ requests: [] }), isCode(grpc.status.PERMISSION_DENIED, /agent SVID is revoked/));
    } finally {
      revokedClient.close();
    }
    const c = await attest(newJoinToken());
    server.store.agents.delete(c.agentId);
    const evicted = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, c);
    try {
      await assert.rejects(evicted.signX509Svids({ requests: [] }), isCode(grpc.status.PERMISSION_DENIED, /not attested/));
    } finally {
      evicted.close();
    }
  });
});

describe('MintJwtSvid input', () => {
  let agent: AgentIdentity;
  let plainEntry: string;

  before(async () => {
    agent = await attest(newJoinToken());
    plainEntry = entry('audience-test/web', agent.spiffeId);
  });

  it('refuses an audience with a control character (NUL) as InvalidArgument', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, agent);
    try {
      await assert.rejects(client.mintJwtSvid({ entry_id: plainEntry, audience: ['ok', 'svc\u0000evil'] }), isCode(grpc.status.INVALID_ARGUMENT, /audience must not contain control characters/));
      const jwt = await client.mintJwtSvid({ entry_id: plainEntry, audience: ['ok'] });
      assert.equal(jwt.token.split('.').length, 3);
    } finally {
      client.close();
    }
  });
});

describe('entries the agent API never issues for', () => {
  let agent: AgentIdentity;
  let longEntry: string;
  let reservedEntry: string;
  let plainEntry: string;

  before(async () => {
    agent = await attest(newJoinToken());
    // Stored directly, as by a server from before the admin API refused such IDs.
    longEntry = entry('a'.repeat(3000), agent.spiffeId);
    reservedEntry = entry('sigil/server', agent.spiffeId);
    plainEntry = entry('refusal-test/web', agent.spiffeId);
  });

  it('ID-14: SignX509Svids answers an entry with an over-long ID with its own error, audited, and signs the rest', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, agent);
    try {
      const res = await client.signX509Svids({ requests: [{ entry_id: longEntry, csr: await csr() }, { entry_id: plainEntry, csr: await csr() }] });
      const byEntry = new Map(res.results.map((r) => [r.entry_id, r]));
      assert.match(byEntry.get(longEntry)?.error ?? '', /^entry \S+ cannot be issued for: spiffe_id: invalid SPIFFE ID: SPIFFE ID is 3021 bytes; the maximum is 2048 bytes$/);
      assert.equal(byEntry.get(longEntry)?.svid_chain.length, 0);
      assert.equal(byEntry.get(plainEntry)?.error, '');
      assert.equal(server.store.issuedSvids.list({ entryId: longEntry }, { pageSize: 10 }).items.length, 0);
      const audited = server.store.audit.list({ action: 'agent.sign_x509_svid', result: 'error' }, { pageSize: 100 }).items;
      assert.ok(audited.some((r) => r.target === longEntry && r.actor === `agent:${agent.agentId}`));
    } finally {
      client.close();
    }
  });

  it('SignX509Svids never signs for an entry with a reserved ID (the server\'s identity): the agent is not given it, refusal audited', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, agent);
    try {
      const res = await client.signX509Svids({ requests: [{ entry_id: reservedEntry, csr: await csr() }, { entry_id: plainEntry, csr: await csr() }] });
      const byEntry = new Map(res.results.map((r) => [r.entry_id, r]));
      assert.match(byEntry.get(reservedEntry)?.error ?? '', /^entry \S+ is not authorized for this agent$/);
      assert.ok(!server.store.entries.authorizedFor(agent.spiffeId).some((e) => e.id === reservedEntry), 'never synced to the agent either');
      assert.equal(byEntry.get(reservedEntry)?.svid_chain.length, 0);
      assert.equal(byEntry.get(plainEntry)?.error, '');
      assert.equal(server.store.issuedSvids.list({ entryId: reservedEntry }, { pageSize: 10 }).items.length, 0);
      const audited = server.store.audit.list({ action: 'agent.sign_x509_svid', result: 'error' }, { pageSize: 100 }).items;
      assert.ok(audited.some((r) => r.target === reservedEntry && r.actor === `agent:${agent.agentId}`));
    } finally {
      client.close();
    }
  });

  it('MintJwtSvid for an entry with a reserved ID is PermissionDenied (the agent is not authorized for it)', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, agent);
    try {
      await assert.rejects(client.mintJwtSvid({ entry_id: reservedEntry, audience: ['x'] }), isCode(grpc.status.PERMISSION_DENIED, /is not authorized for this agent/));
    } finally {
      client.close();
    }
  });

  it('ID-14: MintJwtSvid for an entry with an over-long ID is FailedPrecondition', async () => {
    const client = await ServerClient.withIdentity(address, { trustDomain, rootsPem: roots() }, agent);
    try {
      await assert.rejects(client.mintJwtSvid({ entry_id: longEntry, audience: ['x'] }), isCode(grpc.status.FAILED_PRECONDITION, /SPIFFE ID is 3021 bytes/));
    } finally {
      client.close();
    }
  });
});
