import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attestedSelectorNames, isAttestedSelector } from '../../../../src/agent/attestation/attested-selectors.js';
import { containerSelectors } from '../../../../src/agent/attestation/cgroup-selectors.js';
import { unixSelectors } from '../../../../src/agent/attestation/unix-selectors.js';

test('every selector the attestors produce for a real process is in the list the CLI checks entries against', async () => {
  const produced = [
    ...(await unixSelectors({ pid: process.pid, uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 })),
    ...containerSelectors({ podUid: '0c9b3b0e-5d2a-4f6e-9a51-5e8e1c1d2f3a', containerId: 'a'.repeat(64) }),
  ];
  const kinds = new Set(produced.map((s) => `${s.type}:${s.value.slice(0, s.value.indexOf(':'))}`));
  assert.deepEqual([...kinds].sort(), attestedSelectorNames().sort(), 'the list and the attestors agree, both ways');
  for (const s of produced) assert.ok(isAttestedSelector(s.type, s.value), `${s.type}:${s.value}`);
});

test('a type or key that no attestor produces is not attested', () => {
  assert.equal(isAttestedSelector('bogus', 'uid:1'), false);
  assert.equal(isAttestedSelector('unix', 'uidd:1'), false);
  assert.equal(isAttestedSelector('unix', 'uid'), false);
  assert.equal(isAttestedSelector('constructor', 'x:1'), false);
  assert.equal(isAttestedSelector('unix', 'uid:1000'), true);
});
