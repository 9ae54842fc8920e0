import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  BundleError,
  encodeBundleMap,
  encodeJwtBundleJwks,
  encodeSpiffeBundle,
  parseBundleMap,
  parseSpiffeBundle,
  type JwtAuthority,
  type SpiffeBundleInput,
} from '../../../src/spiffe/index.js';
import { RSA_2048, caSpec, generateKeys, issue, publicJwkOf } from '../../helpers/spiffe-certs.js';

const ecCa = await issue(caSpec('example.org'));
const rsaKeys = await generateKeys(RSA_2048);
const rsaCa = await issue(caSpec('example.org'), undefined, rsaKeys);
const jwtKeys = await generateKeys();
const jwtJwk = await publicJwkOf(jwtKeys); // WebCrypto adds key_ops and ext
const jwtAuthority: JwtAuthority = { kid: 'kid-1', publicKeyJwk: jwtJwk };

const b64 = (der: Uint8Array) => Buffer.from(der).toString('base64');

function rejects(check: () => unknown, message: string | RegExp): void {
  assert.throws(check, (err: unknown) => {
    assert.ok(err instanceof BundleError, `expected BundleError, got ${String(err)}`);
    if (typeof message === 'string') assert.equal(err.message, message);
    else assert.match(err.message, message);
    return true;
  });
}

/** A bundle document with one good x509-svid entry plus the given extra entries. */
function bundleJson(extraKeys: unknown[], extraMembers: Record<string, unknown> = {}): string {
  const good = { use: 'x509-svid', kty: 'EC', crv: 'P-256', x: 'a', y: 'b', x5c: [b64(ecCa.der)] };
  return JSON.stringify({ keys: [good, ...extraKeys], ...extraMembers });
}

// ---------------------------------------------------------------- producing

test('X-23 X-24 B-07 §4.2 encodes entries as SPIRE does', async () => {
  const json = encodeSpiffeBundle({
    x509Authorities: [ecCa.der],
    jwtAuthorities: [jwtAuthority],
    sequence: 7,
    refreshHintSeconds: 300,
  });
  const doc = JSON.parse(json);
  assert.deepEqual(Object.keys(doc), ['keys', 'spiffe_sequence', 'spiffe_refresh_hint']);
  assert.equal(doc.spiffe_sequence, 7);
  assert.equal(doc.spiffe_refresh_hint, 300);

  const [x509Key, jwtKey] = doc.keys;
  const caJwk = await publicJwkOf(ecCa.keys);
  assert.deepEqual(Object.keys(x509Key), ['use', 'kty', 'crv', 'x', 'y', 'x5c']);
  assert.deepEqual(x509Key, { use: 'x509-svid', kty: 'EC', crv: 'P-256', x: caJwk.x, y: caJwk.y, x5c: [b64(ecCa.der)] });
  assert.match(String(x509Key.x5c[0]), /^[A-Za-z0-9+/]+=*$/); // standard, not URL-safe, base64

  assert.deepEqual(Object.keys(jwtKey), ['use', 'kty', 'kid', 'crv', 'x', 'y']);
  assert.deepEqual(jwtKey, { use: 'jwt-svid', kty: 'EC', kid: 'kid-1', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y });
});

test('X-24 derives RSA JWK parameters from an RSA CA certificate', async () => {
  const doc = JSON.parse(encodeSpiffeBundle({ x509Authorities: [rsaCa.der], jwtAuthorities: [] }));
  const rsaJwk = await publicJwkOf(rsaKeys);
  assert.deepEqual(doc.keys[0], { use: 'x509-svid', kty: 'RSA', n: rsaJwk.n, e: 'AQAB', x5c: [b64(rsaCa.der)] });
});

test('B-02 B-03 omits sequence and refresh hint when not given', () => {
  assert.equal(encodeSpiffeBundle({ x509Authorities: [], jwtAuthorities: [] }), '{"keys":[]}');
});

test('§3.5 the Workload API JWT bundle is a plain JWKS with kid and no use', () => {
  const doc = JSON.parse(encodeJwtBundleJwks([jwtAuthority]));
  assert.deepEqual(Object.keys(doc), ['keys']);
  assert.deepEqual(doc.keys, [{ kty: 'EC', kid: 'kid-1', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y }]);
});

test('J-11 refuses JWT authorities without kid, with a repeated kid, or of an EdDSA key type', async () => {
  rejects(() => encodeJwtBundleJwks([{ kid: '', publicKeyJwk: jwtJwk }]), 'JWT authority kid cannot be empty');
  rejects(
    () => encodeJwtBundleJwks([jwtAuthority, { kid: 'kid-1', publicKeyJwk: jwtJwk }]),
    'duplicate JWT authority kid "kid-1"',
  );
  const okp = { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' };
  rejects(() => encodeJwtBundleJwks([{ kid: 'ed', publicKeyJwk: okp }]), 'JWT authority "ed": kty must be one of EC, RSA');
});

test('B-06 never publishes private key material', async () => {
  const privateJwk = await crypto.subtle.exportKey('jwk', jwtKeys.privateKey);
  rejects(
    () => encodeJwtBundleJwks([{ kid: 'leak', publicKeyJwk: privateJwk }]),
    'JWT authority "leak" is a private key; bundles carry public keys only',
  );
});

test('B-02 refuses a sequence outside uint64 and B-03 a refresh hint that is not positive whole seconds', () => {
  const base = { x509Authorities: [], jwtAuthorities: [] };
  rejects(() => encodeSpiffeBundle({ ...base, sequence: -1 }), 'spiffe_sequence must fit in an unsigned 64-bit integer');
  rejects(() => encodeSpiffeBundle({ ...base, sequence: 2n ** 64n }), 'spiffe_sequence must fit in an unsigned 64-bit integer');
  rejects(
    () => encodeSpiffeBundle({ ...base, sequence: 2 ** 60 }),
    'spiffe_sequence must be an integer (use a bigint beyond 2^53)',
  );
  const badHint = 'spiffe_refresh_hint must be a positive whole number of seconds';
  rejects(() => encodeSpiffeBundle({ ...base, refreshHintSeconds: 0 }), badHint);
  rejects(() => encodeSpiffeBundle({ ...base, refreshHintSeconds: 1.5 }), badHint);
});

test('X-24 refuses an X.509 authority that is not a DER certificate', () => {
  rejects(
    () => encodeSpiffeBundle({ x509Authorities: [new Uint8Array([1, 2, 3])], jwtAuthorities: [] }),
    /^X\.509 authority 0 is not a DER certificate: /,
  );
});

// ---------------------------------------------------------------- round trips

test('B-01 B-02 B-03 round-trips a bundle', () => {
  const input: SpiffeBundleInput = {
    x509Authorities: [ecCa.der, rsaCa.der],
    jwtAuthorities: [jwtAuthority],
    sequence: 42n,
    refreshHintSeconds: 300,
  };
  const parsed = parseSpiffeBundle(encodeSpiffeBundle(input));
  assert.deepEqual(parsed.x509Authorities, [ecCa.der, rsaCa.der]);
  assert.deepEqual(parsed.jwtAuthorities, [{ kid: 'kid-1', publicKeyJwk: { kty: 'EC', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y } }]);
  assert.equal(parsed.sequence, 42n);
  assert.equal(parsed.refreshHintSeconds, 300);
});

test('B-02 preserves spiffe_sequence 2^63-1 and 2^64-1 exactly', () => {
  for (const sequence of [2n ** 63n - 1n, 2n ** 64n - 1n]) {
    const json = encodeSpiffeBundle({ x509Authorities: [], jwtAuthorities: [], sequence });
    assert.ok(json.includes(`"spiffe_sequence":${sequence.toString()}`), json);
    assert.equal(parseSpiffeBundle(json).sequence, sequence);
  }
  assert.equal(parseSpiffeBundle('{"keys":[],"spiffe_sequence":9223372036854775807}').sequence, 9223372036854775807n);
});

test('B-02 rejects a spiffe_sequence that is not an unsigned 64-bit integer', () => {
  for (const value of ['18446744073709551616', '-1', '1.5', '"1"', '1e300']) {
    rejects(() => parseSpiffeBundle(`{"keys":[],"spiffe_sequence":${value}}`), 'spiffe_sequence must be an unsigned 64-bit integer');
  }
});

// ---------------------------------------------------------------- lenient parsing

test('B-01 ignores unknown top-level members', () => {
  const bundle = parseSpiffeBundle(bundleJson([], { spiffe_future: { x: 1 }, extra: 'y' }));
  assert.equal(bundle.x509Authorities.length, 1);
});

test('B-04 requires keys but accepts an empty array', () => {
  rejects(() => parseSpiffeBundle('{"spiffe_sequence":1}'), 'bundle has no "keys" member');
  rejects(() => parseSpiffeBundle('{"keys":{}}'), '"keys" must be an array');
  const empty = parseSpiffeBundle('{"keys":[]}');
  assert.deepEqual(empty, { x509Authorities: [], jwtAuthorities: [] });
});

test('B-05 ignores entries with a missing, unknown or wrongly cased use', () => {
  const cert = b64(ecCa.der);
  const bundle = parseSpiffeBundle(bundleJson([
    { kty: 'EC', x5c: [cert] },
    { use: 'sig', kty: 'EC', kid: 'k', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y },
    { use: 'X509-SVID', kty: 'EC', x5c: [cert] },
    { use: 'wit-svid', kty: 'EC', kid: 'w', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y },
  ]));
  assert.equal(bundle.x509Authorities.length, 1);
  assert.equal(bundle.jwtAuthorities.length, 0);
});

test('B-05 B-06 ignores entries with an unknown or missing kty', () => {
  const bundle = parseSpiffeBundle(bundleJson([
    { use: 'x509-svid', kty: 'XYZ', x5c: [b64(rsaCa.der)] },
    { use: 'x509-svid', x5c: [b64(rsaCa.der)] },
    { use: 'jwt-svid', kty: 'oct', kid: 'hmac', k: 'c2VjcmV0' },
    { use: 'jwt-svid', kty: 'OKP', kid: 'ed', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' },
  ]));
  assert.deepEqual(bundle.x509Authorities, [ecCa.der]);
  assert.deepEqual(bundle.jwtAuthorities, []);
});

test('X-25 ignores x509-svid entries with a missing or empty x5c', () => {
  const bundle = parseSpiffeBundle(bundleJson([
    { use: 'x509-svid', kty: 'EC' },
    { use: 'x509-svid', kty: 'EC', x5c: [] },
  ]));
  assert.equal(bundle.x509Authorities.length, 1);
});

test('X-25 takes only the first certificate of x5c', () => {
  const bundle = parseSpiffeBundle(JSON.stringify({
    keys: [{ use: 'x509-svid', kty: 'RSA', x5c: [b64(rsaCa.der), b64(ecCa.der), 'not even base64!'] }],
  }));
  assert.deepEqual(bundle.x509Authorities, [rsaCa.der]);
});

test('X-24 rejects an x5c that is not standard base64 of a certificate', () => {
  const withX5c = (x5c: unknown) => () => parseSpiffeBundle(bundleJson([{ use: 'x509-svid', kty: 'EC', x5c }]));
  const urlSafeAlphabet = '-_' + b64(ecCa.der).slice(2);
  rejects(withX5c([urlSafeAlphabet]), 'x509-svid entry 1: x5c[0] must be standard base64');
  rejects(withX5c([7]), 'x509-svid entry 1: x5c[0] must be standard base64');
  rejects(withX5c(['AAAA']), /^x509-svid entry 1: x5c\[0\] is not a DER certificate: /);
  rejects(withX5c(b64(ecCa.der)), 'x509-svid entry 1: x5c must be an array');
});

test('J-11 B-07 ignores jwt-svid entries without kid', () => {
  const key = { use: 'jwt-svid', kty: 'EC', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y };
  const bundle = parseSpiffeBundle(bundleJson([key, { ...key, kid: '' }, { ...key, kid: 'kept' }]));
  assert.deepEqual(bundle.jwtAuthorities.map((a) => a.kid), ['kept']);
});

test('J-11 keeps only the public members of a jwt-svid key', () => {
  const bundle = parseSpiffeBundle(bundleJson([
    { use: 'jwt-svid', kty: 'EC', kid: 'k', alg: 'ES256', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y, key_ops: ['verify'] },
  ]));
  assert.deepEqual(bundle.jwtAuthorities[0]?.publicKeyJwk, { kty: 'EC', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y });
});

test('J-11 rejects a jwt-svid key that is not a usable public key', () => {
  rejects(
    () => parseSpiffeBundle(bundleJson([{ use: 'jwt-svid', kty: 'EC', kid: 'bad', crv: 'P-256', x: 'AAAA', y: 'AAAA' }])),
    /^jwt-svid entry 1 \(kid "bad"\): invalid EC public key: /,
  );
});

test('J-11 rejects two jwt-svid keys with the same kid', () => {
  const key = { use: 'jwt-svid', kty: 'EC', kid: 'same', crv: 'P-256', x: jwtJwk.x, y: jwtJwk.y };
  rejects(() => parseSpiffeBundle(bundleJson([key, key])), 'duplicate jwt-svid kid "same"');
});

test('B-03 reads the refresh hint as seconds; 0 counts as unset', () => {
  assert.equal(parseSpiffeBundle('{"keys":[],"spiffe_refresh_hint":2419200}').refreshHintSeconds, 2419200);
  assert.equal(parseSpiffeBundle('{"keys":[],"spiffe_refresh_hint":0}').refreshHintSeconds, undefined);
  assert.equal(parseSpiffeBundle('{"keys":[]}').refreshHintSeconds, undefined);
  const badHint = 'spiffe_refresh_hint must be a non-negative whole number of seconds';
  rejects(() => parseSpiffeBundle('{"keys":[],"spiffe_refresh_hint":-5}'), badHint);
  rejects(() => parseSpiffeBundle('{"keys":[],"spiffe_refresh_hint":"300"}'), badHint);
});

test('B-01 rejects text that is not a JSON object', () => {
  rejects(() => parseSpiffeBundle('{"keys":['), /^unable to parse JWKS: /);
  rejects(() => parseSpiffeBundle('[]'), 'unable to parse JWKS: expected a JSON object');
  rejects(() => parseSpiffeBundle('{"keys":[1]}'), 'key entry 0 is not a JSON object');
  rejects(() => parseSpiffeBundle('{"keys":[],"keys":[]}'), /^unable to parse JWKS: duplicate member name "keys"/);
});

// ---------------------------------------------------------------- bundle maps

test('B-09 round-trips a bundle map and omits per-bundle refresh hints', () => {
  const json = encodeBundleMap(new Map<string, SpiffeBundleInput>([
    ['example.org', { x509Authorities: [ecCa.der], jwtAuthorities: [jwtAuthority], sequence: 3n, refreshHintSeconds: 60 }],
    ['partner.example', { x509Authorities: [rsaCa.der], jwtAuthorities: [] }],
  ]));
  assert.ok(!json.includes('spiffe_refresh_hint'));
  assert.deepEqual(Object.keys(JSON.parse(json).trust_domains), ['example.org', 'partner.example']);

  const parsed = parseBundleMap(json);
  assert.deepEqual([...parsed.keys()], ['example.org', 'partner.example']);
  assert.deepEqual(parsed.get('example.org')?.x509Authorities, [ecCa.der]);
  assert.equal(parsed.get('example.org')?.sequence, 3n);
  assert.deepEqual(parsed.get('partner.example')?.x509Authorities, [rsaCa.der]);
});

test('B-09 rejects a bundle map with a duplicate trust domain', () => {
  const bundle = encodeSpiffeBundle({ x509Authorities: [ecCa.der], jwtAuthorities: [] });
  const json = `{"trust_domains":{"example.org":${bundle},"example.org":{"keys":[]}}}`;
  assert.equal(Object.keys(JSON.parse(json).trust_domains).length, 1); // what JSON.parse would silently do
  rejects(() => parseBundleMap(json), /^unable to parse bundle map: duplicate member name "example\.org"/);
});

test('B-09 requires trust_domains, which may be empty', () => {
  assert.equal(parseBundleMap('{"trust_domains":{}}').size, 0);
  rejects(() => parseBundleMap('{}'), 'bundle map has no "trust_domains" member');
  rejects(() => parseBundleMap('{"trust_domains":[]}'), '"trust_domains" must be a JSON object');
});

test('B-09 drops per-bundle refresh hints on parse', () => {
  const parsed = parseBundleMap('{"trust_domains":{"example.org":{"keys":[],"spiffe_refresh_hint":5}}}');
  assert.equal(parsed.get('example.org')?.refreshHintSeconds, undefined);
});

test('B-08 B-09 keys are trust domain names, and errors name the trust domain', () => {
  rejects(
    () => parseBundleMap('{"trust_domains":{"Example.org":{"keys":[]}}}'),
    'invalid trust domain name "Example.org": trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores',
  );
  rejects(() => parseBundleMap('{"trust_domains":{"example.org":{}}}'), 'trust domain "example.org": bundle has no "keys" member');
  rejects(
    () => encodeBundleMap(new Map([['spiffe://example.org', { x509Authorities: [], jwtAuthorities: [] }]])),
    /^invalid trust domain name "spiffe:\/\/example\.org": /,
  );
});
