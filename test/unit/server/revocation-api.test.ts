import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FakeClock } from '../../../src/common/clock.js';
import { parseCrlDer } from '../../../src/pki/crl.js';
import { generateKeyPair } from '../../../src/pki/keys.js';
import { pemDecodeAll } from '../../../src/pki/pem.js';
import { startTestServer, type TestServer } from '../../helpers/test-server.js';

let t: TestServer;
let auth: Record<string, string>;
const clock = new FakeClock();

before(async () => {
  t = await startTestServer({ clock });
  auth = { Authorization: `Bearer ${t.adminToken}` };
});
after(async () => {
  await t.close();
});

async function mint(spiffeId: string, ttl = 3600): Promise<string> {
  const res = await t.http.post('/v1/x509/mint').set(auth).send({ spiffe_id: spiffeId, ttl }).expect(201);
  return res.body.serial as string;
}

/** An SVID issued for an entry through an agent, as the agent API records it. */
async function issueThroughAgent(spiffeId: string, entryId: string, agentId: string): Promise<string> {
  const keys = await generateKeyPair('ec-p256');
  const svid = await t.server.ca.issueX509Svid({ spiffeId, dnsNames: [], subjectPublicKey: keys.publicKey, kind: 'workload', entryId, agentId });
  return svid.serial;
}

async function createEntry(name: string): Promise<string> {
  const res = await t.http
    .post('/v1/entries')
    .set(auth)
    .send({ spiffe_id: `spiffe://example.org/${name}`, parent_id: 'spiffe://example.org/sigil/agent/join_token/a', selectors: [{ type: 'unix', value: `uid:${name.length}` }] })
    .expect(201);
  return res.body.id as string;
}

const revoke = (body: object) => t.http.post('/v1/svids/revoke').set(auth).send(body);

/** Serials on the current CRL of the active X.509 authority, fetched with no token. */
async function crlSerials(): Promise<string[]> {
  const res = await t.http.get('/v1/crl').expect(200);
  return pemDecodeAll(res.text).flatMap((b) => parseCrlDer(b.der).entries.map((e) => e.serialNumber.toLowerCase()));
}

const revokedFlag = (serial: string) => t.server.store.issuedSvids.get(serial)?.revokedAt !== null;

describe('POST /v1/svids/revoke', () => {
  test('by serial: marked revoked with its reason, the CRL is re-signed with it, and /v1/svids shows it', async () => {
    const serial = await mint('spiffe://example.org/by-serial');
    const before = t.server.context.crls.current()[0]?.crlNumber ?? 0;
    const res = await revoke({ serial, reason: 'keyCompromise' }).expect(200);
    assert.deepEqual(res.body.revoked, [serial]);
    assert.equal(res.body.reason, 'keyCompromise');
    assert.equal(res.body.revoked_at, clock.now().toISOString());
    assert.equal(res.body.crls.length, 1);
    assert.ok(res.body.crls[0].crl_number > before, 'a new CRL Number');
    assert.ok((await crlSerials()).includes(serial));
    const listed = await t.http.get('/v1/svids').set(auth).query({ spiffe_id: 'spiffe://example.org/by-serial' }).expect(200);
    assert.equal(listed.body.svids[0].revoked_at, clock.now().toISOString());
    assert.equal(listed.body.svids[0].revocation_reason, 'keyCompromise');
  });

  test('a serial is accepted as openssl prints it (upper case, colons)', async () => {
    const serial = await mint('spiffe://example.org/openssl-style');
    const spelled = serial.toUpperCase().match(/../g)?.join(':');
    const res = await revoke({ serial: spelled }).expect(200);
    assert.deepEqual(res.body.revoked, [serial]);
    assert.equal(res.body.reason, 'unspecified', 'the default reason');
  });

  test('by serial: unknown is 404, already revoked is 409, expired is 422, each naming the serial field and audited as an error', async () => {
    const unknown = await revoke({ serial: 'ab'.repeat(16) }).expect(404);
    assert.match(unknown.body.error.message, /^serial: no SVID with serial abab/);
    const serial = await mint('spiffe://example.org/twice');
    await revoke({ serial }).expect(200);
    const again = await revoke({ serial, reason: 'superseded' }).expect(409);
    assert.equal(again.body.error.code, 'conflict');
    assert.match(again.body.error.message, /^serial: .*already revoked at .* \(reason unspecified\)/);
    assert.equal(t.server.store.issuedSvids.get(serial)?.revocationReason, 'unspecified', 'the first revocation stands');
    const shortLived = await mint('spiffe://example.org/short', 60);
    clock.advance(61_000);
    const expired = await revoke({ serial: shortLived }).expect(422);
    assert.match(expired.body.error.message, /^serial: .* expired at/);
    assert.equal(revokedFlag(shortLived), false);
    const audit = await t.http.get('/v1/audit').set(auth).query({ action: 'svid.revoke', result: 'error', page_size: 1000 }).expect(200);
    const targets = audit.body.records.map((r: { target: string; detail: { code: string } }) => `${r.detail.code} ${r.target}`);
    assert.ok(targets.includes(`not_found serial:${'ab'.repeat(16)}`));
    assert.ok(targets.includes(`conflict serial:${serial}`));
    assert.ok(targets.includes(`failed_precondition serial:${shortLived}`));
  });

  test('by SPIFFE ID: every valid SVID of that ID, none of another; nothing left is not an error', async () => {
    const a1 = await mint('spiffe://example.org/many');
    const a2 = await mint('spiffe://example.org/many');
    const other = await mint('spiffe://example.org/many-not');
    const res = await revoke({ spiffe_id: 'spiffe://example.org/many', reason: 'affiliationChanged' }).expect(200);
    assert.deepEqual([...res.body.revoked].sort(), [a1, a2].sort());
    assert.equal(revokedFlag(other), false);
    const serials = await crlSerials();
    assert.ok(serials.includes(a1) && serials.includes(a2) && !serials.includes(other));
    const none = await revoke({ spiffe_id: 'spiffe://example.org/many' }).expect(200);
    assert.deepEqual(none.body.revoked, []);
    assert.deepEqual(none.body.crls, [], 'no CRL re-signed when nothing changed');
  });

  test('by entry and by agent: the SVIDs issued for that entry, or to that agent', async () => {
    const now = clock.now().getTime();
    t.server.store.agents.insert('agent-a', 'spiffe://example.org/sigil/agent/join_token/agent-a', 'join_token', now);
    t.server.store.agents.insert('agent-b', 'spiffe://example.org/sigil/agent/join_token/agent-b', 'join_token', now);
    const entry1 = await createEntry('entry-one');
    const entry2 = await createEntry('entry-two');
    const e1a = await issueThroughAgent('spiffe://example.org/entry-one', entry1, 'agent-a');
    const e1b = await issueThroughAgent('spiffe://example.org/entry-one', entry1, 'agent-b');
    const e2a = await issueThroughAgent('spiffe://example.org/entry-two', entry2, 'agent-a');
    const e2b = await issueThroughAgent('spiffe://example.org/entry-two', entry2, 'agent-b');

    const byEntry = await revoke({ entry_id: entry1, reason: 'privilegeWithdrawn' }).expect(200);
    assert.deepEqual([...byEntry.body.revoked].sort(), [e1a, e1b].sort());
    assert.equal(revokedFlag(e2a), false);

    const byAgent = await revoke({ agent_id: 'agent-a', reason: 'cessationOfOperation' }).expect(200);
    assert.deepEqual(byAgent.body.revoked, [e2a], 'the entry-one SVID of agent-a was revoked already');
    assert.equal(revokedFlag(e2b), false);
  });

  test('svid.revoked events (one per SVID) and the audit row are written in the revocation transaction', async () => {
    const lastEvent = t.server.store.events.lastId();
    const s1 = await mint('spiffe://example.org/evented');
    const s2 = await mint('spiffe://example.org/evented');
    await revoke({ spiffe_id: 'spiffe://example.org/evented', reason: 'superseded' }).expect(200);
    const events = t.server.store.events.listAfter(lastEvent, 100, ['svid.revoked', 'crl.published']);
    assert.deepEqual(events.map((e) => e.type), ['svid.revoked', 'svid.revoked', 'crl.published']);
    const [first] = events;
    assert.equal(first?.subject, 'spiffe://example.org/evented');
    const svid = t.server.store.issuedSvids.get(s1);
    assert.deepEqual(
      { ...first?.payload, action: typeof first?.payload.action },
      {
        serial: s1,
        spiffe_id: 'spiffe://example.org/evented',
        entry_id: null,
        agent_id: null,
        authority_id: svid?.authorityId,
        reason: 'superseded',
        revoked_at: clock.now().toISOString(),
        not_after: new Date(svid?.notAfter ?? 0).toISOString(),
        revoked_by: 'spiffe_id',
        action: 'string',
      },
    );
    assert.equal(events[1]?.payload.serial, s2);
    const audit = t.server.store.audit.list({ action: 'svid.revoke', result: 'ok' }, { pageSize: 1000 }).items.at(-1);
    assert.equal(audit?.target, 'spiffe_id:spiffe://example.org/evented');
    assert.equal(audit?.actor, 'token:bootstrap');
    assert.deepEqual(audit?.detail, { reason: 'superseded', revoked_by: 'spiffe_id', count: 2, serials: [s1, s2] });
    assert.equal(audit?.at, first?.at);
  });

  test('if the audit row cannot be written, nothing is revoked and no event is left (one transaction)', async () => {
    const serial = await mint('spiffe://example.org/atomic');
    const lastEvent = t.server.store.events.lastId();
    const audit = t.server.store.audit;
    const original = audit.record.bind(audit);
    audit.record = (at, input) => {
      if (input.result === 'ok') throw new Error('disk full');
      original(at, input);
    };
    try {
      await revoke({ serial }).expect(500);
    } finally {
      audit.record = original;
    }
    assert.equal(revokedFlag(serial), false);
    assert.deepEqual(t.server.store.events.listAfter(lastEvent, 100, ['svid.revoked']), []);
  });

  const bad: [string, object, RegExp][] = [
    ['no selector', { reason: 'keyCompromise' }, /give exactly one of serial, spiffe_id, entry_id, agent_id/],
    ['two selectors', { serial: 'ab', spiffe_id: 'spiffe://example.org/x' }, /give exactly one of .* \(got serial, spiffe_id\)/],
    ['bad reason', { serial: 'ab', reason: 'certificateHold' }, /reason: /],
    ['bad serial', { serial: 'xyz' }, /serial: must be the certificate serial number in hex/],
    ['bad SPIFFE ID', { spiffe_id: 'https://example.org/x' }, /spiffe_id: invalid SPIFFE ID/],
    ['bad entry id', { entry_id: 'not-a-uuid' }, /entry_id: /],
    ['unknown field', { serial: 'ab', force: true }, /force: unknown key/],
  ];
  for (const [name, body, message] of bad) {
    test(`400 for ${name}, naming the field`, async () => {
      const res = await revoke(body).expect(400);
      assert.equal(res.body.error.code, 'invalid_argument');
      assert.match(res.body.error.message, message);
    });
  }

  test('a viewer is refused (403) and nothing is revoked; no token is 401', async () => {
    const serial = await mint('spiffe://example.org/viewer');
    const res = await t.http.post('/v1/svids/revoke').set({ Authorization: `Bearer ${t.viewerToken}` }).send({ serial }).expect(403);
    assert.equal(res.body.error.code, 'permission_denied');
    await t.http.post('/v1/svids/revoke').send({ serial }).expect(401);
    assert.equal(revokedFlag(serial), false);
  });
});

describe('GET /v1/crl', () => {
  test('needs no token; PEM with the "X509 CRL" label, one per covered authority', async () => {
    const res = await t.http.get('/v1/crl').expect(200).expect('Content-Type', /application\/x-pem-file/);
    const blocks = pemDecodeAll(res.text);
    assert.deepEqual(blocks.map((b) => b.label), ['X509 CRL']);
    assert.equal(parseCrlDer(blocks[0]!.der).issuer, parseCrlDer(t.server.context.crls.currentCrlsDer()[0]!).issuer);
  });

  test('per authority as DER (application/pkix-crl) or PEM, by path or by query', async () => {
    const authorityId = t.server.store.authorities.active('x509')!.id;
    const der = await t.http.get(`/v1/crl/${authorityId}`).query({ format: 'der' }).responseType('blob').expect(200).expect('Content-Type', 'application/pkix-crl');
    assert.deepEqual(new Uint8Array(der.body as Buffer), t.server.context.crls.currentFor(authorityId)?.der);
    const byQuery = await t.http.get('/v1/crl').query({ authority_id: authorityId, format: 'der' }).responseType('blob').expect(200).expect('Content-Type', 'application/pkix-crl');
    assert.deepEqual(byQuery.body, der.body);
    const pem = await t.http.get(`/v1/crl/${authorityId}`).expect(200).expect('Content-Type', /application\/x-pem-file/);
    assert.match(pem.text, /^-----BEGIN X509 CRL-----\n/);
  });

  test('bad requests name the field: DER of all CRLs, an unknown format, an unknown authority', async () => {
    const all = await t.http.get('/v1/crl').query({ format: 'der' }).expect(400);
    assert.match(all.body.error.message, /format: der holds one CRL; give authority_id/);
    const format = await t.http.get('/v1/crl').query({ format: 'json' }).expect(400);
    assert.match(format.body.error.message, /format: /);
    const unknown = await t.http.get('/v1/crl/no-such-authority').expect(404);
    assert.match(unknown.body.error.message, /^authority_id: no current CRL/);
    const jwt = t.server.store.authorities.active('jwt')!.id;
    await t.http.get(`/v1/crl/${jwt}`).expect(404);
  });

  test('metrics give each CRL its size and its thisUpdate/nextUpdate as seconds since the epoch', async () => {
    const crl = t.server.context.crls.current()[0]!;
    const text = (await t.http.get('/metrics').expect(200)).text;
    const label = `{authority_id="${crl.authorityId}"}`;
    assert.match(text, new RegExp(`sigil_crl_entries${label} ${crl.revokedCount}\\n`));
    assert.match(text, new RegExp(`sigil_crl_size_bytes${label} ${crl.der.length}\\n`));
    assert.match(text, new RegExp(`sigil_crl_number${label} ${crl.crlNumber}\\n`));
    assert.match(text, new RegExp(`sigil_crl_this_update_timestamp_seconds${label} ${Math.floor(crl.thisUpdate / 1000)}\\n`));
    assert.match(text, new RegExp(`sigil_crl_next_update_timestamp_seconds${label} ${Math.floor(crl.nextUpdate / 1000)}\\n`));
  });
});

