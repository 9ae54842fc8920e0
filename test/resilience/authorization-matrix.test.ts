import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import supertest from 'supertest';
import type { ServerClient } from '../../src/agent/node/server-client.js';
import type { AgentIdentity } from '../../src/agent/node/agent-state.js';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { leafIssuerTemplate, mintX509LeafDer } from '../../src/pki/leaf-der.js';
import { generateKeyPair, importPrivateKeyPem } from '../../src/pki/keys.js';
import { spkiDerOf } from '../../src/pki/spki.js';
import type { AuditRecord } from '../../src/store/audit-log.js';
import type { Store } from '../../src/store/store.js';
import { agentApiTrustDomain, csrDer, startAgentApiServer, type AgentApiServer } from '../helpers/agent-api-server.js';
import { assertKnownRoutesFound, registeredRoutes, type RegisteredRoute } from '../helpers/express-routes.js';
import { caSpec, issue, leafSpec } from '../helpers/spiffe-certs.js';
import { changedTables, snapshotStore } from '../helpers/store-snapshot.js';
import { startTestServer } from '../helpers/test-server.js';

// Issue 8, hostile callers: the authorization matrix as a test. The admin routes come from the
// Express router itself, so a route added tomorrow is in the matrix tomorrow. Every refusal of a
// request that would change something is on record in the audit log, and changes nothing else.

/** Audit rows written after `afterId`. */
function auditAfter(store: Store, afterId: number): AuditRecord[] {
  return (store.db.prepare('SELECT * FROM audit_log WHERE id > ? ORDER BY id').all(afterId) as (Omit<AuditRecord, 'detail'> & { detail: string })[]).map((r) => ({ ...r, detail: JSON.parse(r.detail) as Record<string, unknown> }));
}

const lastAuditId = (store: Store) => (store.db.prepare('SELECT coalesce(max(id), 0) AS id FROM audit_log').get() as { id: number }).id;

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

describe('admin REST: every registered route × no, malformed, unknown, viewer and admin token', async () => {
  const t = await startTestServer();
  after(() => t.close());
  const store = t.server.store;
  // Only the requests may write while the store is compared: no rotation pass, no webhook sends.
  await t.server.scheduler.stop();
  await t.server.context.webhooks.stop();

  // Real objects behind the :id parameters, so that a refusal that wrongly went through would
  // delete or change something the store snapshot then misses.
  const now = Date.now();
  const entryId = store.entries.create({ spiffeId: 'spiffe://example.org/matrix/web', parentId: 'spiffe://example.org/sigil/agent/join_token/matrix', selectors: [{ type: 'unix', value: 'uid:1' }], dnsNames: [], x509SvidTtl: 600, jwtSvidTtl: 300, hint: '', admin: false }, now).id;
  const joinTokenId = store.joinTokens.create(hashSecretToken(generateSecretToken('sjt')), 'matrix', now + 600_000, now).id;
  store.agents.insert('matrix-agent', 'spiffe://example.org/sigil/agent/join_token/matrix-agent', 'join_token', now);
  const webhookId = store.webhooks.subscriptions.create({ url: 'http://127.0.0.1:9/hook', description: '', eventTypes: ['svid.revoked'], enabled: false, allowPrivate: true }, 'whsec_matrix', now).id;
  const adminTokenId = store.adminTokens.create(hashSecretToken(generateSecretToken('sat')), 'matrix-spare', 'admin', now).id;
  const x509AuthorityId = store.authorities.list('x509')[0]?.id as string;

  /** A concrete path for a route: real ids for refused callers, unknown ones for the admin (so it changes nothing). */
  function concretePath(route: RegisteredRoute, realIds: boolean): string {
    const idFor = (path: string): string => {
      if (!realIds) return path.startsWith('/v1/webhook-deliveries') ? `msg_${'0'.repeat(32)}` : randomUUID();
      if (path.startsWith('/v1/entries')) return entryId;
      if (path.startsWith('/v1/join-tokens')) return joinTokenId;
      if (path.startsWith('/v1/agents')) return 'matrix-agent';
      if (path.startsWith('/v1/webhooks')) return webhookId;
      if (path.startsWith('/v1/admin-tokens')) return adminTokenId;
      if (path.startsWith('/v1/authorities')) return x509AuthorityId;
      if (path.startsWith('/v1/webhook-deliveries')) return `msg_${'0'.repeat(32)}`;
      return randomUUID();
    };
    return route.path.replace(':kind', 'x509').replace(/:(id|authority_id)\b/g, () => idFor(route.path));
  }

  const routes = registeredRoutes(t.server.app);
  assertKnownRoutesFound(routes, ['GET /live', 'GET /v1/bundle', 'POST /v1/entries', 'DELETE /v1/entries/:id', 'POST /v1/authorities/:kind/:id/taint', 'POST /v1/webhook-deliveries/:id/redeliver', 'POST /v1/x509/mint']);

  /** The only routes anyone may call without a token (F-04: bundle and CRLs are public). */
  const publicRoutes = ['GET /live', 'GET /ready', 'GET /metrics', 'GET /v1/bundle', 'GET /v1/crl', 'GET /v1/crl/:authority_id'];
  const isPublic = (r: RegisteredRoute) => publicRoutes.includes(`${r.method} ${r.path}`);

  const send = (method: string, path: string, authorization: string | undefined, body: unknown = {}) => {
    let req = t.http[method.toLowerCase() as 'get'](path);
    if (authorization !== undefined) req = req.set('Authorization', authorization);
    return readMethods.has(method) ? req : req.send(body as object);
  };

  function assertErrorShape(res: { status: number; body: unknown }, what: string): void {
    if (res.status < 400) return;
    const error = (res.body as { error?: { code?: unknown; message?: unknown } }).error;
    assert.equal(typeof error?.code, 'string', `${what}: error.code (${JSON.stringify(res.body)})`);
    assert.equal(typeof error?.message, 'string', `${what}: error.message`);
  }

  test('the list of public routes names only routes that exist', () => {
    const found = new Set(routes.map((r) => `${r.method} ${r.path}`));
    assert.deepEqual(publicRoutes.filter((r) => !found.has(r)), []);
  });

  test('F-04: the public routes answer without a token', async () => {
    for (const route of routes.filter(isPublic)) {
      const res = await send(route.method, concretePath(route, true), undefined);
      assert.ok(res.status < 500 && res.status !== 401 && res.status !== 403, `${route.method} ${route.path}: ${res.status}`);
    }
  });

  const refusedCallers: { name: string; authorization: () => string | undefined; status: 401 | 403 | 'read-ok'; actor: string; action: string }[] = [
    { name: 'no Authorization header', authorization: () => undefined, status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'an empty Bearer', authorization: () => 'Bearer ', status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'the admin token under Basic', authorization: () => `Basic ${t.adminToken}`, status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'the admin token without a scheme', authorization: () => t.adminToken, status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'two tokens in one header', authorization: () => `Bearer ${t.adminToken} ${t.adminToken}`, status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'the admin token with a byte changed', authorization: () => `Bearer ${t.adminToken.slice(0, -1)}${t.adminToken.endsWith('A') ? 'B' : 'A'}`, status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'an unknown token', authorization: () => `Bearer ${generateSecretToken('sat')}`, status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'a join token used as an admin token', authorization: () => `Bearer ${generateSecretToken('sjt')}`, status: 401, actor: 'anonymous', action: 'api.authenticate' },
    { name: 'a viewer token', authorization: () => `Bearer ${t.viewerToken}`, status: 403, actor: 'token:test-viewer', action: 'api.authorize' },
  ];

  for (const route of routes.filter((r) => !isPublic(r))) {
    const mutating = !readMethods.has(route.method);
    test(`${route.method} ${route.path}: refused without a valid token${mutating ? ', refused for a viewer' : ', readable by a viewer'}, allowed for an admin; refusals audited, nothing changed`, async () => {
      const path = concretePath(route, true);
      const snapshot = snapshotStore(store);
      for (const caller of refusedCallers) {
        const expected = caller.status === 403 && !mutating ? 'read-ok' : caller.status;
        const auditFrom = lastAuditId(store);
        const res = await send(route.method, path, caller.authorization());
        const what = `${route.method} ${path} with ${caller.name}`;
        assertErrorShape(res, what);
        if (expected === 'read-ok') {
          assert.ok(res.status !== 401 && res.status !== 403 && res.status < 500, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
          continue;
        }
        assert.equal(res.status, expected, `${what}: ${JSON.stringify(res.body)}`);
        assert.equal((res.body as { error: { code: string } }).error.code, expected === 401 ? 'unauthenticated' : 'permission_denied');
        if (!mutating) continue;
        const audited = auditAfter(store, auditFrom);
        assert.equal(audited.length, 1, `${what}: exactly one audit row, got ${JSON.stringify(audited)}`);
        const [row] = audited as [AuditRecord];
        assert.deepEqual({ actor: row.actor, action: row.action, target: row.target, result: row.result }, { actor: caller.actor, action: caller.action, target: `${route.method} ${path}`, result: 'error' }, what);
        assert.equal(row.detail.code, expected === 401 ? 'unauthenticated' : 'permission_denied');
        for (const secret of [t.adminToken, t.viewerToken]) assert.ok(!JSON.stringify(row).includes(secret), `${what}: a token is in the audit row`);
      }
      if (mutating) {
        // Authentication comes before the body is read: a caller without a token learns nothing
        // from the body check and cannot make the server parse a megabyte of JSON.
        const res = await t.http[route.method.toLowerCase() as 'post'](path).set('Content-Type', 'text/plain').send('not json');
        assert.equal(res.status, 401, `${route.method} ${path} anonymous with a text body: ${JSON.stringify(res.body)}`);
      }
      assert.equal(changedTables(snapshot, snapshotStore(store)), '', 'a refused request changed the store');

      const adminPath = concretePath(route, false);
      const res = await send(route.method, adminPath, `Bearer ${t.adminToken}`, { not_a_field_of_any_route: true });
      assertErrorShape(res, `${route.method} ${adminPath} as admin`);
      assert.ok(res.status !== 401 && res.status !== 403 && res.status < 500, `${route.method} ${adminPath} as admin: ${res.status} ${JSON.stringify(res.body)}`);
    });
  }
});

describe('agent API: hostile callers on every RPC', () => {
  let api: AgentApiServer;
  let store: Store;
  let agentA: AgentIdentity;
  let agentB: AgentIdentity;
  let entryOfB: string;

  before(async () => {
    api = await startAgentApiServer();
    store = api.server.store;
    await api.server.scheduler.stop();
    await api.server.context.webhooks.stop();
    agentA = await api.attest();
    agentB = await api.attest();
    api.createEntry('a/web', agentA.spiffeId);
    entryOfB = api.createEntry('b/db', agentB.spiffeId);
  });
  after(() => api.close());

  type Rpc = 'RenewAgent' | 'SignX509Svids' | 'MintJwtSvid' | 'ReportStatus' | 'Sync';
  const rpcs: Record<Rpc, (client: ServerClient) => Promise<unknown>> = {
    RenewAgent: async (c) => c.renew({ csr: await csrDer() }),
    SignX509Svids: async (c) => c.signX509Svids({ requests: [{ entry_id: entryOfB, csr: await csrDer() }] }),
    MintJwtSvid: (c) => c.mintJwtSvid({ entry_id: entryOfB, audience: ['db'] }),
    ReportStatus: (c) => c.reportStatus({ revocation_problems: ['forged'], entries: 1, entries_without_svid: 1, max_svids: 1, cached_svids: 0, withheld_crls: 0 }),
    Sync: (c) =>
      new Promise((resolve, reject) => {
        const stream = c.sync({ after_event_id: 0, known_entries: [], bundle_sequence: '' });
        stream.on('data', resolve);
        stream.on('error', reject);
      }),
  };

  /** Every RPC is refused with `code`, audited once as `agent.authenticate` by `actor`, and nothing else changes. */
  async function assertRefusedEverywhere(client: ServerClient, code: grpc.status, details: RegExp, actor: string): Promise<void> {
    const snapshot = snapshotStore(store);
    for (const [rpc, call] of Object.entries(rpcs)) {
      const auditFrom = lastAuditId(store);
      await assert.rejects(call(client), (err: grpc.ServiceError) => {
        assert.equal(err.code, code, `${rpc}: ${err.code} ${err.details}`);
        assert.match(err.details, details, rpc);
        return true;
      });
      const audited = auditAfter(store, auditFrom);
      assert.deepEqual(
        audited.map((r) => ({ actor: r.actor, action: r.action, target: r.target, result: r.result })),
        [{ actor, action: 'agent.authenticate', target: rpc, result: 'error' }],
        `${rpc}: one audit row`,
      );
    }
    assert.equal(changedTables(snapshot, snapshotStore(store)), '', 'a refused agent call changed the store');
  }

  async function identityFromMint(spiffeId: string): Promise<AgentIdentity> {
    const svid = await api.server.ca.mintX509Svid({ spiffeId, dnsNames: [] });
    return { agentId: 'posing', spiffeId, keys: await importPrivateKeyPem(svid.privateKeyPem), svidChainDer: svid.chainDer.map((d) => new Uint8Array(d)), notAfter: svid.notAfter };
  }

  /**
   * A leaf our CA's key signed for `spiffeId` outside the CA's issuance path (which refuses
   * reserved IDs): what an entry stored before that rule, or a key leak, could produce.
   */
  async function identitySignedByOurKey(spiffeId: string): Promise<AgentIdentity> {
    const authority = api.server.store.authorities.active('x509');
    const caKeys = authority && (await api.keyManager.get(authority.id));
    if (!authority?.certificateDer || !caKeys) throw new Error('no active X.509 authority');
    const keys = await generateKeyPair('ec-p256');
    const now = Date.now();
    const leaf = await mintX509LeafDer(leafIssuerTemplate(authority.certificateDer, caKeys.privateKey), {
      spiffeId,
      dnsNames: [],
      subjectPublicKeyInfo: spkiDerOf(keys.publicKey),
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 3_600_000),
    });
    return { agentId: 'posing', spiffeId, keys, svidChainDer: [leaf.der], notAfter: new Date(now + 3_600_000) };
  }

  async function withClient(identity: AgentIdentity | undefined, fn: (client: ServerClient) => Promise<void>): Promise<void> {
    const client = identity ? await api.clientFor(identity) : api.anonymousClient();
    try {
      await fn(client);
    } finally {
      client.close();
    }
  }

  test('no client certificate: Unauthenticated on every RPC, audited as anonymous', async () => {
    await withClient(undefined, (c) => assertRefusedEverywhere(c, grpc.status.UNAUTHENTICATED, /client certificate/, 'anonymous'));
  });

  test("X-20/X-22: another CA's certificate naming a real agent: Unauthenticated on every RPC, audited", async () => {
    const now = Date.now();
    const validity = { notBefore: new Date(now - 3_600_000), notAfter: new Date(now + 3_600_000) };
    const foreignCa = await issue(caSpec(agentApiTrustDomain, validity));
    const leaf = await issue(leafSpec(agentA.spiffeId, validity), foreignCa);
    const impostor: AgentIdentity = { ...agentA, keys: { algorithm: 'ec-p256', privateKey: leaf.keys.privateKey, publicKey: leaf.keys.publicKey }, svidChainDer: [leaf.der] };
    await withClient(impostor, (c) => assertRefusedEverywhere(c, grpc.status.UNAUTHENTICATED, /agent SVID rejected/, 'anonymous'));
  });

  test('a workload SVID posing as an agent: PermissionDenied on every RPC, audited under its SPIFFE ID', async () => {
    const workload = await identityFromMint(`spiffe://${agentApiTrustDomain}/a/web`);
    await withClient(workload, (c) => assertRefusedEverywhere(c, grpc.status.PERMISSION_DENIED, /is not an agent SPIFFE ID/, workload.spiffeId));
  });

  test("an SVID of our CA that carries a real agent's SPIFFE ID but was not issued to that agent (operator mint): PermissionDenied, audited", async () => {
    const posing = await identitySignedByOurKey(agentA.spiffeId);
    await withClient(posing, (c) => assertRefusedEverywhere(c, grpc.status.PERMISSION_DENIED, /not an agent SVID issued to/, agentA.spiffeId));
  });

  test('an operator cannot register an entry or mint an SVID under /sigil, where the agent and server identities live', async () => {
    const http = supertest(api.server.app);
    const auth = { Authorization: `Bearer ${api.server.bootstrapToken ?? ''}` };
    const snapshot = snapshotStore(store);
    const existing = api.createEntry('a/reserved-check', agentA.spiffeId);
    const afterCreate = snapshotStore(store);
    for (const spiffeId of [agentA.spiffeId, `spiffe://${agentApiTrustDomain}/sigil/server`, `spiffe://${agentApiTrustDomain}/sigil`]) {
      const requests = {
        'POST /v1/entries': http.post('/v1/entries').set(auth).send({ spiffe_id: spiffeId, parent_id: agentA.spiffeId, selectors: [{ type: 'unix', value: 'uid:0' }] }),
        'PATCH /v1/entries/:id': http.patch(`/v1/entries/${existing}`).set(auth).send({ spiffe_id: spiffeId }),
        'POST /v1/x509/mint': http.post('/v1/x509/mint').set(auth).send({ spiffe_id: spiffeId }),
        'POST /v1/jwt/mint': http.post('/v1/jwt/mint').set(auth).send({ spiffe_id: spiffeId, audience: ['x'] }),
      };
      for (const [what, request] of Object.entries(requests)) {
        const res = await request;
        assert.equal(res.status, 400, `${what} ${spiffeId}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.error.message, /spiffe_id: .* is reserved: \/sigil and every path under it name Sigil's own server and agents/);
      }
    }
    assert.equal(changedTables(afterCreate, snapshotStore(store)), '');
    assert.notEqual(changedTables(snapshot, afterCreate), '', 'the snapshot sees a real change');
  });

  test('a banned agent: PermissionDenied on every RPC, audited under its agent id', async () => {
    const banned = await api.attest();
    const now = Date.now();
    store.transaction(() => {
      store.agents.ban(banned.agentId, now);
      store.events.append(now, 'agent.banned', banned.agentId);
    });
    await withClient(banned, (c) => assertRefusedEverywhere(c, grpc.status.PERMISSION_DENIED, /agent is banned/, `agent:${banned.agentId}`));
  });

  test('an evicted agent: PermissionDenied on every RPC, audited under its SPIFFE ID', async () => {
    const evicted = await api.attest();
    store.agents.delete(evicted.agentId);
    await withClient(evicted, (c) => assertRefusedEverywhere(c, grpc.status.PERMISSION_DENIED, /not attested/, evicted.spiffeId));
  });

  test("another agent's entry: no X509-SVID and no JWT-SVID is issued, and both refusals are audited", async () => {
    const issuedBefore = store.issuedSvids.list({ entryId: entryOfB }, { pageSize: 100 }).items.length;
    await withClient(agentA, async (c) => {
      const auditFrom = lastAuditId(store);
      const res = await c.signX509Svids({ requests: [{ entry_id: entryOfB, csr: await csrDer() }] });
      assert.deepEqual(res.results.map((r) => ({ entry: r.entry_id, chain: r.svid_chain.length, serial: r.serial })), [{ entry: entryOfB, chain: 0, serial: '' }]);
      await assert.rejects(c.mintJwtSvid({ entry_id: entryOfB, audience: ['db'] }), (err: grpc.ServiceError) => err.code === grpc.status.PERMISSION_DENIED);
      const audited = auditAfter(store, auditFrom).map((r) => ({ actor: r.actor, action: r.action, target: r.target, result: r.result }));
      assert.deepEqual(audited, [
        { actor: `agent:${agentA.agentId}`, action: 'agent.sign_x509_svid', target: entryOfB, result: 'error' },
        { actor: `agent:${agentA.agentId}`, action: 'agent.mint_jwt_svid', target: entryOfB, result: 'error' },
      ]);
    });
    assert.equal(store.issuedSvids.list({ entryId: entryOfB }, { pageSize: 100 }).items.length, issuedBefore);
  });
});
