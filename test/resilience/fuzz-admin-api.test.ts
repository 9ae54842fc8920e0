import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { generateSecretToken, hashSecretToken } from '../../src/common/secrets.js';
import { revocationReasons } from '../../src/pki/crl.js';
import { pemEncode } from '../../src/pki/pem.js';
import { maxBodyBytes } from '../../src/server/api/app.js';
import { webhookEventTypes } from '../../src/server/webhooks/event-actions.js';
import { csrDer } from '../helpers/agent-api-server.js';
import { registeredRoutes, type RegisteredRoute } from '../helpers/express-routes.js';
import { anyString, deeplyNestedJson, encodePathSegment, fuzzParameters, jsonValue } from '../helpers/fuzz.js';
import { StoreChangeWatch } from '../helpers/store-snapshot.js';
import { startTestServer, type TestServer } from '../helpers/test-server.js';

// Issue 8, fuzzing: every admin REST route that takes a body, as an admin (so the body is what
// is judged): random JSON of every type, the routes' own fields with wrong types, huge strings,
// deep nesting and unknown members, non-JSON bodies and wrong content types. Never a 5xx,
// always {"error":{"code","message"}}, and a refused request leaves the store as it was.

const td = 'example.org';
const agentSpiffeId = `spiffe://${td}/sigil/agent/join_token/fuzz-agent`;
const hugeString = 'h'.repeat(200_000);

let t: TestServer;
/** Whether a refused request changed the store. */
let watch: StoreChangeWatch;
let auth: { Authorization: string };
let csrPem: string;
/** Real objects behind :id parameters, so that bodies reach the code past the "not found". */
const ids: Record<string, string[]> = {};

before(async () => {
  t = await startTestServer();
  // Nothing but the fuzzed requests may write: no rotation pass, no background webhook sends
  // (deliverNow answers without sending once the dispatcher is stopped).
  await t.server.scheduler.stop();
  await t.server.context.webhooks.stop();
  auth = { Authorization: `Bearer ${t.adminToken}` };
  csrPem = pemEncode('CERTIFICATE REQUEST', await csrDer());
  const store = t.server.store;
  const now = Date.now();
  store.agents.insert('fuzz-agent', agentSpiffeId, 'join_token', now);
  const entries = [0, 1, 2, 3, 4].map((i) => store.entries.create({ spiffeId: `spiffe://${td}/fuzz/${i}`, parentId: agentSpiffeId, selectors: [{ type: 'unix', value: `uid:${i}` }], dnsNames: [], x509SvidTtl: 600, jwtSvidTtl: 300, hint: '', admin: false }, now).id);
  const webhooks = [0, 1, 2].map((i) => store.webhooks.subscriptions.create({ url: `http://127.0.0.1:9/hook-${i}`, description: '', eventTypes: ['svid.revoked'], enabled: true, allowPrivate: true }, `whsec_fuzz${i}`, now).id);
  // The event goes to each subscription's outbox in its own transaction.
  store.events.append(now, 'svid.revoked', 'fuzz', {});
  const deliveries = webhooks.map((w) => store.webhooks.deliveries.list(w, undefined, { pageSize: 1 }).items[0]?.id as string);
  ids.entries = entries;
  ids['join-tokens'] = [store.joinTokens.create(hashSecretToken(generateSecretToken('sjt')), 'fuzz', now + 600_000, now).id];
  ids.agents = ['fuzz-agent'];
  ids.webhooks = webhooks;
  ids['webhook-deliveries'] = deliveries;
  // Never the tokens the fuzz itself sends with.
  ids['admin-tokens'] = [store.adminTokens.create(hashSecretToken(generateSecretToken('sat')), 'fuzz-spare', 'viewer', now).id];
  ids.authorities = [...store.authorities.list('x509'), ...store.authorities.list('jwt')].map((a) => a.id);
  watch = new StoreChangeWatch(store);
});

after(() => t.close());

const bodyRoutes = () => registeredRoutes(t.server.app).filter((r) => r.path.startsWith('/v1/') && r.method !== 'GET');

/** A parameter value: a real id of that collection, an unknown one, or any string. */
function paramValue(route: RegisteredRoute, name: string): fc.Arbitrary<string> {
  if (name === 'kind') return fc.oneof(fc.constantFrom('x509', 'jwt'), anyString(10));
  const collection = route.path.split('/')[2] ?? '';
  return fc.oneof({ weight: 6, arbitrary: fc.constantFrom(...(ids[collection] ?? ['none'])) }, { weight: 1, arbitrary: fc.constantFrom(randomUUID(), `msg_${'a'.repeat(32)}`) }, { weight: 1, arbitrary: anyString(40) });
}

function concretePath(route: RegisteredRoute): fc.Arbitrary<string> {
  const names = [...route.path.matchAll(/:([a-z_]+)/g)].map((m) => m[1] as string);
  return fc.tuple(...names.map((n) => paramValue(route, n))).map((values) => {
    let i = 0;
    return route.path.replace(/:([a-z_]+)/g, () => encodePathSegment(values[i++] ?? ''));
  });
}

/** What a route's own fields may get: a right value (so that requests go deep) and near misses or wrong types. */
const fieldValues: Record<string, { valid: fc.Arbitrary<unknown>; odd: fc.Arbitrary<unknown> }> = {
  spiffe_id: { valid: fc.nat(40).map((n) => `spiffe://${td}/fuzz/new-${n}`), odd: fc.constantFrom(`spiffe://${td}`, 'spiffe://other.org/x', `spiffe://${td}/sigil/server`, `spiffe://${td}/a//b`, `SPIFFE://${td}/x`, `spiffe://${td}/${'p'.repeat(3000)}`) },
  parent_id: { valid: fc.constantFrom(agentSpiffeId, `spiffe://${td}/fuzz/0`), odd: fc.constantFrom('spiffe://other.org/agent', '', `spiffe://${td}/`) },
  selectors: { valid: fc.nat(40).map((n) => [{ type: 'unix', value: `uid:${n}` }]), odd: fc.oneof(fc.constant([]), fc.array(fc.record({ type: anyString(8), value: anyString(8) }), { maxLength: 3 }), fc.constant(Array.from({ length: 100 }, (_, i) => ({ type: 'unix', value: `uid:${i}` })))) },
  dns_names: { valid: fc.constant(['web.example.org']), odd: fc.oneof(fc.constant(['*.example.org', '-bad-']), fc.array(anyString(10), { maxLength: 3 })) },
  x509_svid_ttl: { valid: fc.constantFrom('1h', 600), odd: fc.constantFrom(0, -1, 1.5, '99999999d', 1e300, 'forever') },
  jwt_svid_ttl: { valid: fc.constantFrom('5m', 300), odd: fc.constantFrom(-5, '0s', '1e3s') },
  ttl: { valid: fc.constantFrom('10m', 3600), odd: fc.constantFrom('30d', '31d', 0, -1, 2 ** 53, 'NaN') },
  hint: { valid: fc.constant('internal'), odd: fc.oneof(anyString(20), fc.constant(hugeString)) },
  admin: { valid: fc.boolean(), odd: fc.constantFrom('true', 1, null) },
  revision: { valid: fc.nat(3), odd: fc.constantFrom(-1, 1.5, 2 ** 60) },
  entries: {
    valid: fc.array(fc.nat(40).map((n) => ({ spiffe_id: `spiffe://${td}/fuzz/batch-${n}`, parent_id: agentSpiffeId, selectors: [{ type: 'unix', value: `uid:${n}` }] })), { minLength: 1, maxLength: 3 }),
    odd: fc.oneof(fc.array(jsonValue(2), { maxLength: 4 }), fc.constant(Array.from({ length: 501 }, () => ({})))),
  },
  name: { valid: fc.constant('fuzz-name'), odd: fc.oneof(anyString(20), fc.constant(hugeString)) },
  role: { valid: fc.constantFrom('admin', 'viewer'), odd: fc.constantFrom('root', '', 'ADMIN') },
  url: { valid: fc.constant('https://hook.invalid/fuzz'), odd: fc.constantFrom('http://127.0.0.1:9/fuzz', 'http://169.254.169.254/latest', 'file:///etc/passwd', 'http://user:pw@hook.invalid/', 'http://[::1]:9/', 'https://hook.invalid/#frag', 'not a url') },
  events: { valid: fc.constant(['svid.revoked']), odd: fc.oneof(fc.constant([]), fc.array(fc.constantFrom(...webhookEventTypes, 'webhook.ping', 'nope'), { maxLength: 40 })) },
  description: { valid: fc.constant('fuzz'), odd: anyString(30) },
  enabled: { valid: fc.boolean(), odd: fc.constantFrom('yes', 0) },
  allow_private: { valid: fc.boolean(), odd: fc.constantFrom('no', 1) },
  serial: { valid: fc.constantFrom('01', 'AB:CD'), odd: fc.constantFrom('zz', '', '0'.repeat(200), '1') },
  entry_id: { valid: fc.nat(2).map((i) => ids.entries?.[i] ?? randomUUID()), odd: fc.constantFrom('not-a-uuid', '') },
  agent_id: { valid: fc.constant('fuzz-agent'), odd: fc.constantFrom('nobody', '') },
  reason: { valid: fc.constantFrom(...revocationReasons), odd: fc.constantFrom('because', 'KeyCompromise') },
  audience: { valid: fc.constant(['db']), odd: fc.oneof(fc.constant([]), fc.constant(['']), fc.array(anyString(10), { maxLength: 40 })) },
  key_type: { valid: fc.constant('ec-p256'), odd: fc.constantFrom('dsa', '', 'EC-P256') },
  csr: { valid: fc.constant('csr-placeholder'), odd: fc.constantFrom('-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n', '', 'csr-of-another-label') },
  authority_id: { valid: fc.constant('no-such-authority'), odd: fc.constantFrom('', 'a/b') },
};

/**
 * The body fields of every route that is not a GET: required ones first, then optional ones.
 * A test checks that this table names exactly the registered routes, so a new route has to be
 * added here (and is then fuzzed with its own fields).
 */
const routeFields: Record<string, { required: string[]; optional: string[] }> = {
  'POST /v1/entries': { required: ['spiffe_id', 'parent_id', 'selectors'], optional: ['dns_names', 'x509_svid_ttl', 'jwt_svid_ttl', 'hint', 'admin'] },
  'POST /v1/entries/batch': { required: ['entries'], optional: [] },
  'PATCH /v1/entries/:id': { required: [], optional: ['spiffe_id', 'parent_id', 'selectors', 'dns_names', 'x509_svid_ttl', 'jwt_svid_ttl', 'hint', 'admin', 'revision'] },
  'DELETE /v1/entries/:id': { required: [], optional: [] },
  'POST /v1/entries/:id/x509-svids': { required: ['csr'], optional: [] },
  'POST /v1/join-tokens': { required: [], optional: ['ttl', 'name'] },
  'DELETE /v1/join-tokens/:id': { required: [], optional: [] },
  'POST /v1/agents/:id/ban': { required: [], optional: [] },
  'DELETE /v1/agents/:id': { required: [], optional: [] },
  'POST /v1/svids/revoke': { required: [], optional: ['serial', 'spiffe_id', 'entry_id', 'agent_id', 'reason'] },
  'POST /v1/authorities/:kind/prepare': { required: [], optional: [] },
  'POST /v1/authorities/:kind/activate': { required: [], optional: ['authority_id'] },
  'POST /v1/authorities/:kind/:id/taint': { required: [], optional: [] },
  'POST /v1/authorities/:kind/:id/revoke': { required: [], optional: [] },
  'POST /v1/admin-tokens': { required: ['name', 'role'], optional: [] },
  'DELETE /v1/admin-tokens/:id': { required: [], optional: [] },
  'POST /v1/webhooks': { required: ['url', 'events'], optional: ['description', 'enabled', 'allow_private'] },
  'PATCH /v1/webhooks/:id': { required: [], optional: ['url', 'events', 'description', 'enabled', 'allow_private'] },
  'DELETE /v1/webhooks/:id': { required: [], optional: [] },
  'POST /v1/webhooks/:id/test': { required: [], optional: [] },
  'POST /v1/webhook-deliveries/:id/redeliver': { required: [], optional: [] },
  'POST /v1/x509/mint': { required: ['spiffe_id'], optional: ['dns_names', 'ttl', 'key_type'] },
  'POST /v1/x509/sign': { required: ['csr', 'spiffe_id'], optional: ['dns_names', 'ttl'] },
  'POST /v1/jwt/mint': { required: ['spiffe_id', 'audience'], optional: ['ttl'] },
};

/** A value for field `name`: a near miss (oddOnly), or mostly a right one, else a near miss, any JSON value or an extreme. */
function valueFor(name: string, oddOnly: boolean): fc.Arbitrary<unknown> {
  const own = Object.hasOwn(fieldValues, name) ? fieldValues[name] : undefined;
  if (oddOnly && own) return own.odd;
  const arbitraries: fc.WeightedArbitrary<unknown>[] = [
    { weight: 2, arbitrary: jsonValue(3) },
    { weight: 1, arbitrary: fc.constantFrom(hugeString, 1e308, -0, null) },
  ];
  if (own && !oddOnly) arbitraries.push({ weight: 6, arbitrary: own.valid }, { weight: 3, arbitrary: own.odd });
  return fc.oneof(...arbitraries);
}

const fieldsOf = (route: RegisteredRoute) => routeFields[`${route.method} ${route.path}`] ?? { required: [], optional: Object.keys(fieldValues) };
const withCsr = (v: unknown) => (v === 'csr-placeholder' ? csrPem : v);

function objectOf(names: readonly string[], value: (name: string) => fc.Arbitrary<unknown>): fc.Arbitrary<Record<string, unknown>> {
  return fc.tuple(...names.map(value)).map((values) => Object.fromEntries(names.map((k, i) => [k, withCsr(values[i])])));
}

/** The route's required fields and some optional ones, every value right: what a correct client sends. */
function validBody(route: RegisteredRoute): fc.Arbitrary<Record<string, unknown>> {
  const fields = fieldsOf(route);
  return fc.subarray(fields.optional).chain((optional) => objectOf([...fields.required, ...optional], (n) => (fieldValues[n] as { valid: fc.Arbitrary<unknown> }).valid));
}

/** A correct body with one thing wrong: a field left out, given a near miss or any value, or an unknown member added. */
function oneFieldWrong(route: RegisteredRoute): fc.Arbitrary<Record<string, unknown>> {
  const extra = fc.constantFrom('__proto__', 'constructor', 'unknown_field', '', ...Object.keys(fieldValues));
  return fc.tuple(validBody(route), fc.nat(), extra, fc.constantFrom('drop', 'odd', 'any', 'extra')).chain(([body, at, extraName, how]) => {
    const names = Object.keys(body);
    const name = names.length === 0 || how === 'extra' ? extraName : (names[at % names.length] as string);
    if (how === 'drop') return fc.constant(Object.fromEntries(Object.entries(body).filter(([k]) => k !== name)));
    return valueFor(name, how === 'odd').map((value) => ({ ...body, [name]: value }));
  });
}

/** Any mix of the route's fields (and others), each value from valueFor. */
function chaoticBody(route: RegisteredRoute): fc.Arbitrary<Record<string, unknown>> {
  const fields = fieldsOf(route);
  return fc
    .tuple(fc.subarray(fields.required), fc.subarray(fields.optional), fc.option(fc.constantFrom('__proto__', 'constructor', 'unknown_field', '', ...Object.keys(fieldValues)), { freq: 4 }))
    .map(([required, optional, extra]) => [...new Set([...required, ...optional, ...(extra === null ? [] : [extra])])])
    .chain((names) => objectOf(names, (n) => valueFor(n, false)));
}

/** What gets sent: JSON (shaped like the route's body, or any value), or raw text with a content type. */
type Body = { json: unknown } | { raw: string; contentType: string };
const rawBody: fc.Arbitrary<Body> = fc.record({
  raw: fc.oneof(anyString(100), fc.constantFrom('{', '{"a":1,}', '\uFEFF{}', 'null', '[]', '"x"', '{"spiffe_id":"\\ud800"}', deeplyNestedJson(20_000, 'array'), `{"hint":${deeplyNestedJson(20_000, 'object')}}`)),
  contentType: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/json; charset=latin1', 'text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/merge-patch+json', 'application/octet-stream'),
});
const bodyFor = (route: RegisteredRoute): fc.Arbitrary<Body> =>
  fc.oneof(
    { weight: 2, arbitrary: validBody(route).map((json) => ({ json })) },
    { weight: 4, arbitrary: oneFieldWrong(route).map((json) => ({ json })) },
    { weight: 2, arbitrary: chaoticBody(route).map((json) => ({ json })) },
    { weight: 1, arbitrary: jsonValue(4).map((json) => ({ json })) },
    { weight: 1, arbitrary: rawBody },
  );

function send(route: RegisteredRoute, path: string, what: Body) {
  const req = t.http[route.method.toLowerCase() as 'post'](path).set(auth);
  return 'json' in what ? req.set('Content-Type', 'application/json').send(JSON.stringify(what.json) ?? 'null') : req.set('Content-Type', what.contentType).send(what.raw);
}

/** Never a 5xx; an error is exactly {"error":{"code","message"}} as JSON; a refusal changed nothing. */
function assertCleanAnswer(res: { status: number; body: unknown; headers: Record<string, string> }, watch: StoreChangeWatch, what: string): void {
  assert.ok(res.status < 500, `${what}: ${res.status} ${JSON.stringify(res.body)}`);
  if (res.status < 400) return;
  assert.match(res.headers['content-type'] ?? '', /^application\/json/, what);
  const error = (res.body as { error?: { code?: unknown; message?: unknown } }).error;
  assert.deepEqual(Object.keys(res.body as object), ['error'], what);
  assert.equal(typeof error?.code, 'string', what);
  assert.equal(typeof error?.message, 'string', what);
  assert.equal(watch.changedSinceMark(), '', `${what}: refused with ${res.status} but changed the store`);
}

const describeRequest = (route: RegisteredRoute, path: string, what: Body) => `${route.method} ${path} ${'json' in what ? (JSON.stringify(what.json) ?? 'undefined').slice(0, 300) : `${what.contentType} ${JSON.stringify(what.raw.slice(0, 300))}`}`;

describe('fuzz: admin REST bodies (issue 8)', () => {
  it('the table of body fields names exactly the registered routes that are not GETs', () => {
    assert.deepEqual(bodyRoutes().map((r) => `${r.method} ${r.path}`).sort(), Object.keys(routeFields).sort());
  });

  it('random, shaped and non-JSON bodies on every route: no 5xx, the error shape, nothing changed by a refusal', async () => {
    const routes = bodyRoutes();
    const request = fc.constantFrom(...routes).chain((route) => fc.tuple(fc.constant(route), concretePath(route), bodyFor(route)));
    await fc.assert(
      fc.asyncProperty(request, async ([route, path, what]) => {
        watch.mark();
        const res = await send(route, path, what);
        assertCleanAnswer(res, watch, describeRequest(route, path, what));
      }),
      fuzzParameters(841, 800),
    );
  });

  it('each route with a body over the limit is 413; deep nesting and huge members get clean answers', async () => {
    const tooLarge = { raw: JSON.stringify({ hint: 'x'.repeat(maxBodyBytes) }), contentType: 'application/json' };
    for (const route of bodyRoutes()) {
      const path = route.path.replace(':kind', 'x509').replace(/:[a-z_]+/g, randomUUID());
      watch.mark();
      const res = await send(route, path, tooLarge);
      assertCleanAnswer(res, watch, `${route.method} ${path} with ${maxBodyBytes + 12} bytes`);
      assert.equal(res.status, 413, `${route.method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal((res.body as { error: { code: string } }).error.code, 'payload_too_large');
      for (const what of [{ raw: deeplyNestedJson(100_000, 'array'), contentType: 'application/json' }, { raw: `{"spiffe_id":${deeplyNestedJson(100_000, 'object')}}`, contentType: 'application/json' }, { json: { [hugeString]: hugeString } }, { json: { spiffe_id: hugeString, selectors: hugeString } }] as Body[]) {
        watch.mark();
        assertCleanAnswer(await send(route, path, what), watch, describeRequest(route, path, what));
      }
    }
  });

  it('random query strings on every GET route: no 5xx and the error shape', async () => {
    const getRoutes = registeredRoutes(t.server.app).filter((r) => r.method === 'GET');
    const query = fc.array(fc.tuple(fc.oneof(fc.constantFrom('page_size', 'page_token', 'spiffe_id', 'selector', 'match', 'after', 'limit', 'type', 'format', 'authority_id', 'kind', 'valid', 'expiring_before', 'banned', 'status', 'actor'), anyString(10)), fc.oneof(anyString(30), fc.constantFrom('-1', '0', '1e9', '1001', 'true', 'pem', 'der', 'unix:uid:1', '2030-01-01T00:00:00Z'))), { maxLength: 5 });
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...getRoutes).chain((route) => fc.tuple(fc.constant(route), concretePath(route), query)), async ([, path, pairs]) => {
        const search = pairs.map(([k, v]) => `${encodePathSegment(k)}=${encodePathSegment(v)}`).join('&');
        watch.mark();
        const res = await t.http.get(`${path}?${search}`).set(auth);
        assertCleanAnswer(res, watch, `GET ${path}?${search}`);
      }),
      fuzzParameters(843, 400),
    );
  });
});
