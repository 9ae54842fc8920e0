import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StrictJsonError, parseStrictJson } from '../../../src/spiffe/strict-json.js';

test('B-01 decodes the same values as JSON.parse', () => {
  const inputs = [
    '{}',
    '[]',
    ' { "a" : [1, -2.5, 3e2, 0, -0.0, true, false, null, "x"] } ',
    '"esc\\"aped \\\\ \\/ \\b\\f\\n\\r\\t \\u00e9 \\ud83d\\ude00"',
    '{"nested":{"deeper":[{"k":"v"}]}}',
    '9007199254740991',
    '-9007199254740991',
    '1.5e-3',
  ];
  for (const input of inputs) assert.deepEqual(parseStrictJson(input), JSON.parse(input), input);
});

test('B-02 keeps integers beyond 2^53 exact as bigint', () => {
  assert.equal(parseStrictJson('9223372036854775807'), 9223372036854775807n);
  assert.deepEqual(parseStrictJson('{"s":18446744073709551615}'), { s: 18446744073709551615n });
  assert.equal(parseStrictJson('-9007199254740993'), -9007199254740993n);
  // A literal with a fraction or exponent is not an integer literal and stays a number.
  assert.equal(parseStrictJson('9007199254740993.0'), 9007199254740992);
});

test('B-09 rejects repeated member names, also when spelled with escapes', () => {
  assert.throws(() => parseStrictJson('{"a":1,"a":2}'), (err: Error) => {
    assert.ok(err instanceof StrictJsonError);
    assert.match(err.message, /^duplicate member name "a" at position \d+$/);
    return true;
  });
  assert.throws(() => parseStrictJson('{"a":1,"\\u0061":2}'), /duplicate member name "a"/);
  assert.throws(() => parseStrictJson('{"x":{"b":1,"b":1}}'), /duplicate member name "b"/);
  assert.deepEqual(parseStrictJson('{"a":{"a":1}}'), { a: { a: 1 } });
});

test('keeps "__proto__" as an own member, as JSON.parse does', () => {
  const value = parseStrictJson('{"__proto__":{"polluted":true}}') as Record<string, unknown>;
  assert.deepEqual(Object.keys(value), ['__proto__']);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('rejects what JSON.parse rejects', () => {
  const bad = [
    '', ' ', '{', '[1,]', '{"a":1,}', '{a:1}', "{'a':1}", '01', '1.', '.5', '+1', '-', 'tru', 'nul',
    '"\u0001"', '"\\x"', '"open', '{"a" 1}', '[1 2]', '1 2', 'NaN',
  ];
  for (const input of bad) {
    assert.throws(() => JSON.parse(input), SyntaxError, `JSON.parse should reject ${JSON.stringify(input)}`);
    assert.throws(() => parseStrictJson(input), StrictJsonError, `should reject ${JSON.stringify(input)}`);
  }
});

test('refuses absurd nesting instead of overflowing the stack', () => {
  assert.throws(() => parseStrictJson('['.repeat(100000)), /nested too deeply/);
});
