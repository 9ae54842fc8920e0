import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  SpiffeId,
  SpiffeIdError,
  checkMintable,
  parseSpiffeId,
  parseTrustDomain,
  spiffeIdFromParts,
  spiffeIdFromSegments,
  trustDomainId,
  validatePath,
  validatePathSegment,
} from '../../../src/spiffe/index.js';

// go-spiffe's spiffeid/errors.go texts (spec §1.2), spelled out so a changed string fails a test.
const EMPTY = 'cannot be empty';
const WRONG_SCHEME = 'scheme is missing or invalid';
const BAD_TD_CHAR = 'trust domain characters are limited to lowercase letters, numbers, dots, dashes, and underscores';
const MISSING_TD = 'trust domain is missing';
const NO_LEADING_SLASH = 'path must have a leading slash';
const EMPTY_SEGMENT = 'path cannot contain empty segments';
const DOT_SEGMENT = 'path cannot contain dot segments';
const BAD_PATH_CHAR = 'path segment characters are limited to letters, numbers, dots, dashes, and underscores';
const TRAILING_SLASH = 'path cannot have a trailing slash';

function assertRejects(input: string, message: string): void {
  assert.throws(
    () => parseSpiffeId(input),
    (err: unknown) => err instanceof SpiffeIdError && err.message === message,
    `${JSON.stringify(input)} should fail with "${message}"`,
  );
}

test('ID-01 ID-13 accepts the go-spiffe valid vectors', () => {
  const cases: [string, string, string][] = [
    ['spiffe://trustdomain', 'trustdomain', ''],
    ['spiffe://trustdomain/path', 'trustdomain', '/path'],
    ['spiffe://trustdomain/.path', 'trustdomain', '/.path'],
    ['spiffe://trustdomain/..path', 'trustdomain', '/..path'],
    ['spiffe://trustdomain/...', 'trustdomain', '/...'],
    ['spiffe://example.org/ns/default/sa/web', 'example.org', '/ns/default/sa/web'],
  ];
  for (const [input, trustDomain, path] of cases) {
    const id = parseSpiffeId(input);
    assert.equal(id.trustDomain, trustDomain, input);
    assert.equal(id.path, path, input);
    assert.equal(id.toString(), input);
  }
});

test('ID-01 rejects the empty string', () => assertRejects('', EMPTY));

test('ID-01 ID-16 requires the exact lowercase spiffe:// prefix', () => {
  for (const input of ['s', 'spiffe:/', 'Spiffe://', 'SPIFFE://trustdomain/path', 'spiffe:/trustdomain/path', 'https://trustdomain/path']) {
    assertRejects(input, WRONG_SCHEME);
  }
});

test('ID-03 rejects a missing trust domain', () => {
  assertRejects('spiffe://', MISSING_TD);
  assertRejects('spiffe:///', MISSING_TD);
  assertRejects('spiffe:///path', MISSING_TD);
});

test('ID-11 rejects a trailing slash', () => {
  assertRejects('spiffe://trustdomain/', TRAILING_SLASH);
  assertRejects('spiffe://trustdomain/path/', TRAILING_SLASH);
});

test('ID-10 rejects empty segments', () => {
  assertRejects('spiffe://trustdomain//', EMPTY_SEGMENT);
  assertRejects('spiffe://trustdomain//path', EMPTY_SEGMENT);
  assertRejects('spiffe://trustdomain/path//other', EMPTY_SEGMENT);
});

test('ID-10 rejects dot segments', () => {
  for (const path of ['/.', '/./path', '/path/./other', '/path/..', '/..', '/../path', '/path/../other']) {
    assertRejects(`spiffe://trustdomain${path}`, DOT_SEGMENT);
  }
});

test('ID-07 ID-09 rejects percent-encoding in trust domain and path', () => {
  assertRejects('spiffe://%62%61%64/path', BAD_TD_CHAR);
  assertRejects('spiffe://trustdomain/%62%61%64', BAD_PATH_CHAR);
});

test('ID-02 rejects a query or a fragment', () => {
  assertRejects('spiffe://trustdomain?a=1', BAD_TD_CHAR);
  assertRejects('spiffe://trustdomain#frag', BAD_TD_CHAR);
  assertRejects('spiffe://trustdomain/path?a=1', BAD_PATH_CHAR);
  assertRejects('spiffe://trustdomain/path#frag', BAD_PATH_CHAR);
});

test('ID-04 rejects userinfo and port', () => {
  assertRejects('spiffe://user@trustdomain/path', BAD_TD_CHAR);
  assertRejects('spiffe://trustdomain:443/path', BAD_TD_CHAR);
});

test('ID-05 ID-16 rejects an uppercase trust domain but keeps path case', () => {
  assertRejects('spiffe://TrustDomain/path', BAD_TD_CHAR);
  assert.equal(parseSpiffeId('spiffe://trustdomain/Path/UPPER').path, '/Path/UPPER');
});

test('ID-08 accepts an IPv4 trust domain and rejects IPv6', () => {
  assert.equal(parseSpiffeId('spiffe://10.0.0.1/path').trustDomain, '10.0.0.1');
  assertRejects('spiffe://[::1]/path', BAD_TD_CHAR);
});

test('ID-06 trust domain charset, every byte 0x00-0xFF', () => {
  const allowed = new Set('abcdefghijklmnopqrstuvwxyz0123456789.-_');
  let accepted = 0;
  for (let byte = 0; byte <= 0xff; byte++) {
    const ch = String.fromCharCode(byte);
    if (ch === '/') continue; // ends the trust domain; covered by the path tests
    const input = `spiffe://trust${ch}domain/path`;
    if (allowed.has(ch)) {
      assert.equal(parseSpiffeId(input).trustDomain, `trust${ch}domain`);
      accepted++;
    } else {
      assertRejects(input, BAD_TD_CHAR);
    }
  }
  assert.equal(accepted, allowed.size);
});

test('ID-12 path charset, every byte 0x00-0xFF', () => {
  const allowed = new Set('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_');
  let accepted = 0;
  for (let byte = 0; byte <= 0xff; byte++) {
    const ch = String.fromCharCode(byte);
    const input = `spiffe://trustdomain/pa${ch}th`;
    if (ch === '/') {
      assert.equal(parseSpiffeId(input).path, '/pa/th');
    } else if (allowed.has(ch)) {
      assert.equal(parseSpiffeId(input).path, `/pa${ch}th`);
      accepted++;
    } else {
      assertRejects(input, BAD_PATH_CHAR);
    }
  }
  assert.equal(accepted, allowed.size);
});

test('ID-06 ID-12 rejects non-ASCII characters beyond Latin-1', () => {
  assertRejects('spiffe://exämple.org/path', BAD_TD_CHAR);
  assertRejects('spiffe://example.org/p\u0430th', BAD_PATH_CHAR); // Cyrillic a
  assertRejects('spiffe://example.org/\u{1F600}', BAD_PATH_CHAR);
});

test('§1.2 reports the first problem in go-spiffe scan order', () => {
  assertRejects('spiffe://TD', BAD_TD_CHAR); // charset before anything in the path
  assertRejects('spiffe://trustdomain/a%//', BAD_PATH_CHAR); // bad char met before the empty segment
  assertRejects('spiffe://trustdomain//%', EMPTY_SEGMENT); // empty segment met before the bad char
  assertRejects('spiffe://trustdomain/./%', DOT_SEGMENT);
  assertRejects('spiffe://trustdomain/%/', BAD_PATH_CHAR); // bad char before the trailing slash
});

test('ID-14 the parser accepts IDs of 2048 bytes and longer', () => {
  const prefix = 'spiffe://example.org/';
  const id2048 = prefix + 'a'.repeat(2048 - prefix.length);
  assert.equal(Buffer.byteLength(id2048), 2048);
  assert.equal(parseSpiffeId(id2048).toString(), id2048);
  const id4096 = prefix + 'b'.repeat(4096 - prefix.length);
  assert.equal(parseSpiffeId(id4096).path.length, 4096 - prefix.length + 1);
});

test('ID-14 checkMintable refuses IDs over 2048 bytes', () => {
  const prefix = 'spiffe://example.org/';
  checkMintable(parseSpiffeId(prefix + 'a'.repeat(2048 - prefix.length)));
  assert.throws(
    () => checkMintable(parseSpiffeId(prefix + 'a'.repeat(2049 - prefix.length))),
    { name: 'SpiffeIdError', message: 'SPIFFE ID is 2049 bytes; the maximum is 2048 bytes' },
  );
});

test('ID-15 checkMintable refuses trust domains over 255 bytes', () => {
  checkMintable(trustDomainId('a'.repeat(255)));
  assert.throws(
    () => checkMintable(spiffeIdFromParts('a'.repeat(256), '/x')),
    { name: 'SpiffeIdError', message: 'trust domain is 256 bytes; the maximum is 255 bytes' },
  );
});

test('§1.2 validatePath requires a leading slash', () => {
  assert.throws(() => validatePath('path'), { message: NO_LEADING_SLASH });
  assert.throws(() => spiffeIdFromParts('example.org', 'path'), { message: NO_LEADING_SLASH });
  validatePath('');
  validatePath('/a/b');
});

test('§1.2 validatePathSegment vectors', () => {
  assert.throws(() => validatePathSegment(''), { message: EMPTY_SEGMENT });
  assert.throws(() => validatePathSegment('/'), { message: BAD_PATH_CHAR });
  assert.throws(() => validatePathSegment('/foo'), { message: BAD_PATH_CHAR });
  assert.throws(() => validatePathSegment('.'), { message: DOT_SEGMENT });
  assert.throws(() => validatePathSegment('..'), { message: DOT_SEGMENT });
  validatePathSegment('.foo');
  validatePathSegment('Foo-1_2');
});

test('ID-12 spiffeIdFromSegments joins checked segments', () => {
  assert.equal(spiffeIdFromSegments('example.org', 'ns', 'default', 'sa', 'web').toString(), 'spiffe://example.org/ns/default/sa/web');
  assert.equal(spiffeIdFromSegments('example.org').toString(), 'spiffe://example.org');
  assert.throws(() => spiffeIdFromSegments('example.org', 'a/b'), { message: BAD_PATH_CHAR });
  assert.throws(() => spiffeIdFromSegments('Example.org', 'a'), { message: BAD_TD_CHAR });
});

test('§1.2 parseTrustDomain takes a bare name or a SPIFFE ID', () => {
  assert.equal(parseTrustDomain('example.org'), 'example.org');
  assert.equal(parseTrustDomain('spiffe://example.org'), 'example.org');
  assert.equal(parseTrustDomain('spiffe://example.org/workload'), 'example.org');
  assert.throws(() => parseTrustDomain(''), { message: MISSING_TD });
  assert.throws(() => parseTrustDomain('spiffe://'), { message: MISSING_TD });
  assert.throws(() => parseTrustDomain('spiffe:/example.org'), { message: WRONG_SCHEME });
  assert.throws(() => parseTrustDomain('Example.org'), { message: BAD_TD_CHAR });
  assert.throws(() => parseTrustDomain('example.org/path'), { message: BAD_TD_CHAR });
});

test('ID-13 ID-17 trust domain IDs have no path', () => {
  const td = trustDomainId('example.org');
  assert.equal(td.toString(), 'spiffe://example.org');
  assert.equal(td.isTrustDomainId, true);
  assert.equal(parseSpiffeId('spiffe://example.org/x').isTrustDomainId, false);
});

test('SpiffeId is immutable, compares by value and knows its trust domain', () => {
  const id = parseSpiffeId('spiffe://example.org/web');
  assert.ok(Object.isFrozen(id));
  assert.throws(() => {
    (id as unknown as { path: string }).path = '/admin';
  }, TypeError);
  assert.equal(id.path, '/web');
  assert.ok(id.memberOf('example.org'));
  assert.ok(!id.memberOf('example.com'));
  assert.ok(id.equals(spiffeIdFromParts('example.org', '/web')));
  assert.ok(!id.equals(spiffeIdFromParts('example.org', '/Web')));
  assert.equal(JSON.stringify({ id }), '{"id":"spiffe://example.org/web"}');
});

test('ID-05 the SpiffeId constructor validates its parts', () => {
  assert.throws(() => new SpiffeId('Example.org', ''), { message: BAD_TD_CHAR });
  assert.throws(() => new SpiffeId('', '/x'), { message: MISSING_TD });
  assert.throws(() => new SpiffeId('example.org', '/x/'), { message: TRAILING_SLASH });
});
