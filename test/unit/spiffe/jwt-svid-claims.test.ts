import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  JWT_SVID_ALGORITHMS,
  JwtSvidError,
  checkJwtSvidClaims,
  checkJwtSvidHeader,
} from '../../../src/spiffe/index.js';

const AT = new Date('2030-01-01T12:00:00Z');
const NOW_S = AT.getTime() / 1000;
const SUB = 'spiffe://example.org/workload';

const goodClaims = (overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  sub: SUB,
  aud: ['spiffe://example.org/db'],
  exp: NOW_S + 300,
  iat: NOW_S,
  ...overrides,
});

function rejects(check: () => unknown, message: string): void {
  assert.throws(check, (err: unknown) => {
    assert.ok(err instanceof JwtSvidError, `expected JwtSvidError, got ${String(err)}`);
    assert.equal(err.message, message);
    return true;
  });
}

// ---------------------------------------------------------------- header

test('J-03 J-05 accepts each of the nine algorithms with typ JWT, JOSE or none', () => {
  assert.equal(JWT_SVID_ALGORITHMS.length, 9);
  for (const alg of JWT_SVID_ALGORITHMS) {
    assert.deepEqual(checkJwtSvidHeader({ alg, kid: 'k1', typ: 'JWT' }), { alg, kid: 'k1', typ: 'JWT' });
  }
  assert.deepEqual(checkJwtSvidHeader({ alg: 'ES256', kid: 'k1', typ: 'JOSE' }), { alg: 'ES256', kid: 'k1', typ: 'JOSE' });
  assert.deepEqual(checkJwtSvidHeader({ alg: 'ES256', kid: 'k1' }), { alg: 'ES256', kid: 'k1' });
});

test('J-03 rejects none, HMAC, EdDSA and a missing alg', () => {
  for (const alg of ['none', 'HS256', 'EdDSA', 'es256']) {
    rejects(() => checkJwtSvidHeader({ alg, kid: 'k1' }), `unable to parse JWT token: unsupported token signature algorithm "${alg}"`);
  }
  rejects(() => checkJwtSvidHeader({ kid: 'k1' }), 'unable to parse JWT token: unsupported token signature algorithm (none)');
});

test('J-03 checks alg before any other header', () => {
  rejects(
    () => checkJwtSvidHeader({ alg: 'HS256', typ: 'bogus', jku: 'https://evil' }),
    'unable to parse JWT token: unsupported token signature algorithm "HS256"',
  );
});

test('J-02 rejects headers other than alg, kid and typ', () => {
  for (const name of ['jku', 'x5c', 'crit', 'cty']) {
    rejects(() => checkJwtSvidHeader({ alg: 'ES256', kid: 'k1', [name]: 'x' }), `token header "${name}" is not allowed; only alg, kid and typ are`);
  }
});

test('J-05 rejects a typ other than JWT or JOSE', () => {
  for (const typ of ['jwt', 'at+jwt', '', 1]) {
    rejects(() => checkJwtSvidHeader({ alg: 'ES256', kid: 'k1', typ }), 'token header type not equal to either JWT or JOSE');
  }
});

test('J-04 requires kid, as go-spiffe and SPIRE do', () => {
  rejects(() => checkJwtSvidHeader({ alg: 'ES256' }), 'token header missing key id');
  rejects(() => checkJwtSvidHeader({ alg: 'ES256', kid: '' }), 'token header missing key id');
  rejects(() => checkJwtSvidHeader({ alg: 'ES256', kid: 5 }), 'unable to parse JWT token: header "kid" must be a string');
});

test('J-01 rejects a header that is not a JSON object', () => {
  for (const header of [null, 'ES256', ['ES256']]) {
    rejects(() => checkJwtSvidHeader(header), 'unable to parse JWT token: header is not a JSON object');
  }
});

// ---------------------------------------------------------------- claims

test('J-06 J-07 J-08 J-09 returns the typed claims of a valid token', () => {
  const claims = goodClaims({ nbf: NOW_S - 10, jti: 'abc', iss: 'https://issuer' });
  const result = checkJwtSvidClaims(claims, { at: AT, audience: ['spiffe://example.org/db'] });
  assert.equal(result.spiffeId.toString(), SUB);
  assert.deepEqual(result.audience, ['spiffe://example.org/db']);
  assert.equal(result.expiresAt.toISOString(), '2030-01-01T12:05:00.000Z');
  assert.equal(result.issuedAt?.toISOString(), '2030-01-01T12:00:00.000Z');
  assert.equal(result.notBefore?.toISOString(), '2030-01-01T11:59:50.000Z');
  assert.equal(result.claims.jti, 'abc');
  assert.equal(result.claims.iss, 'https://issuer');
  assert.ok(Object.isFrozen(result.claims));
});

test('J-06 rejects a missing or empty sub', () => {
  rejects(() => checkJwtSvidClaims(goodClaims({ sub: undefined }), { at: AT }), 'token missing subject claim');
  rejects(() => checkJwtSvidClaims(goodClaims({ sub: '' }), { at: AT }), 'token missing subject claim');
});

test('J-06 rejects a sub that is not a SPIFFE ID', () => {
  rejects(
    () => checkJwtSvidClaims(goodClaims({ sub: 'https://example.org/workload' }), { at: AT }),
    'token has an invalid subject claim: scheme is missing or invalid',
  );
  rejects(
    () => checkJwtSvidClaims(goodClaims({ sub: 'spiffe://example.org/a/' }), { at: AT }),
    'token has an invalid subject claim: path cannot have a trailing slash',
  );
});

test('J-08 rejects a missing exp', () => {
  rejects(() => checkJwtSvidClaims(goodClaims({ exp: undefined }), { at: AT }), 'token missing exp claim');
});

test('§3.3 reports the missing sub before the missing exp', () => {
  rejects(() => checkJwtSvidClaims({ aud: ['x'] }, { at: AT }), 'token missing subject claim');
});

test('J-07 rejects a missing or empty aud even when no audience is asked for', () => {
  rejects(() => checkJwtSvidClaims(goodClaims({ aud: undefined }), { at: AT }), 'token missing aud claim');
  rejects(() => checkJwtSvidClaims(goodClaims({ aud: [] }), { at: AT }), 'token missing aud claim');
});

test('J-07 accepts a single-string aud', () => {
  const result = checkJwtSvidClaims(goodClaims({ aud: 'spiffe://example.org/db' }), { at: AT, audience: ['spiffe://example.org/db'] });
  assert.deepEqual(result.audience, ['spiffe://example.org/db']);
});

test('J-07 accepts when any expected audience is present', () => {
  checkJwtSvidClaims(goodClaims({ aud: ['a', 'b'] }), { at: AT, audience: ['z', 'b'] });
  checkJwtSvidClaims(goodClaims({ aud: ['a'] }), { at: AT, audience: [] }); // no audience asked: not checked
});

test('J-07 rejects an audience mismatch with the go-spiffe text', () => {
  rejects(
    () => checkJwtSvidClaims(goodClaims({ aud: ['c'] }), { at: AT, audience: ['a', 'b'] }),
    'expected audience in ["a" "b"] (audience=["c"])',
  );
});

test('J-08 rejects an expired token after the 60 s leeway, and not before', () => {
  checkJwtSvidClaims(goodClaims({ exp: NOW_S - 60 }), { at: AT });
  rejects(() => checkJwtSvidClaims(goodClaims({ exp: NOW_S - 61 }), { at: AT }), 'token has expired');
  rejects(() => checkJwtSvidClaims(goodClaims({ exp: NOW_S - 1 }), { at: AT, leewaySeconds: 0 }), 'token has expired');
  checkJwtSvidClaims(goodClaims({ exp: NOW_S }), { at: AT, leewaySeconds: 0 });
});

test('§3.3 rejects nbf in the future beyond the leeway', () => {
  checkJwtSvidClaims(goodClaims({ nbf: NOW_S + 60 }), { at: AT });
  rejects(() => checkJwtSvidClaims(goodClaims({ nbf: NOW_S + 61 }), { at: AT }), 'token not valid yet (nbf)');
});

test('§3.3 rejects iat in the future beyond the leeway', () => {
  checkJwtSvidClaims(goodClaims({ iat: NOW_S + 60 }), { at: AT });
  rejects(() => checkJwtSvidClaims(goodClaims({ iat: NOW_S + 61 }), { at: AT }), 'token issued in the future (iat)');
});

test('§3.3 checks audience before time, as go-jose does', () => {
  rejects(
    () => checkJwtSvidClaims(goodClaims({ aud: ['c'], exp: NOW_S - 3600 }), { at: AT, audience: ['a'] }),
    'expected audience in ["a"] (audience=["c"])',
  );
  rejects(
    () => checkJwtSvidClaims(goodClaims({ nbf: NOW_S + 3600, exp: NOW_S - 3600 }), { at: AT }),
    'token not valid yet (nbf)',
  );
});

test('§3.3 rejects claims of the wrong JSON type', () => {
  rejects(() => checkJwtSvidClaims('x', { at: AT }), 'unable to get claims from token: claims are not a JSON object');
  const withClaims = (overrides: Record<string, unknown>) => () => checkJwtSvidClaims(goodClaims(overrides), { at: AT });
  rejects(withClaims({ sub: 42 }), 'unable to get claims from token: "sub" must be a string');
  rejects(withClaims({ exp: '1700000000' }), 'unable to get claims from token: "exp" must be a NumericDate');
  rejects(withClaims({ iat: null }), 'unable to get claims from token: "iat" must be a NumericDate');
  rejects(withClaims({ aud: ['a', 1] }), 'unable to get claims from token: "aud" must be a string or an array of strings');
});
