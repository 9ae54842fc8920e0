import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConcatenatedDerError, splitConcatenatedDer } from '../../../src/workload/concatenated-der.js';

const seq = (...content: number[]) => [0x30, content.length, ...content];

describe('splitConcatenatedDer (Workload API chains and bundles are DER back to back, spec §5.2)', () => {
  it('splits short-form and long-form SEQUENCEs by their length headers', () => {
    const long = [0x30, 0x81, 0x80, ...new Array<number>(0x80).fill(7)];
    const parts = splitConcatenatedDer(Buffer.from([...seq(1, 2), ...long, ...seq()]));
    assert.deepEqual(parts, [new Uint8Array(seq(1, 2)), new Uint8Array(long), new Uint8Array(seq())]);
    assert.ok(parts.every((part) => Object.getPrototypeOf(part) === Uint8Array.prototype), 'plain copies, not views of the message buffer');
  });

  it('empty input is an empty list (an empty bundle is not an error, as in Go)', () => {
    assert.deepEqual(splitConcatenatedDer(new Uint8Array()), []);
  });

  const bad: [string, number[], RegExp][] = [
    ['a non-SEQUENCE element', [0x02, 0x01, 0x00], /element at byte 0: not a DER SEQUENCE/],
    ['a truncated element', [...seq(1), 0x30, 0x05, 0x01], /element at byte 3: truncated/],
    ['an indefinite length', [0x30, 0x80, 0x00, 0x00], /indefinite length is not DER/],
    ['a length header cut short', [0x30, 0x82, 0x01], /truncated length/],
  ];
  for (const [what, bytes, message] of bad) {
    it(`rejects ${what}`, () => {
      assert.throws(() => splitConcatenatedDer(new Uint8Array(bytes)), (err: unknown) => err instanceof ConcatenatedDerError && message.test(err.message));
    });
  }
});
