import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { rotationTime } from '../../../src/agent/cache/svid-cache.js';
import { notBeforeBackdateMs } from '../../../src/server/ca/certificate-authority.js';
import { repoRoot } from '../../helpers/sigil-process.js';

test('the README says when agents renew SVIDs as the code does it', () => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8').replace(/\s+/g, ' ');
  const claim = /renews each SVID at (\d+)–(\d+) % of its life, counted from its notBefore, which is set up to (\d+) s in the past/.exec(readme);
  assert.ok(claim, 'the README states the renewal window');
  const [, from, to, backdate] = claim.map(Number);
  assert.equal(rotationTime(0, 100, () => 0), from);
  assert.equal(rotationTime(0, 100, () => 1), to);
  assert.equal(notBeforeBackdateMs, (backdate ?? 0) * 1000);
});
