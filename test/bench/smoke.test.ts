import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { benchmarks } from '../../bench/suite.js';

// Issue 10: "a tiny smoke run of each benchmark is in the tests so none can rot". Each runs at a
// size of a few seconds and must print a table with a baseline row; no figure is asserted.

describe('every benchmark still runs (tiny sizes)', () => {
  for (const [name, benchmark] of Object.entries(benchmarks)) {
    it(`${name} prints its table`, async () => {
      const lines = await benchmark.smoke();
      assert.ok(lines.some((l) => l.startsWith('### ')), `${name}: a heading`);
      const rows = lines.filter((l) => l.startsWith('| ') && !l.startsWith('|---'));
      assert.ok(rows.length >= 2, `${name}: a header and at least one row:\n${lines.join('\n')}`);
      assert.ok(!rows.some((l) => /\bNaN\b|undefined/.test(l)), `${name}: no NaN or undefined in the table:\n${lines.join('\n')}`);
    });
  }
});
