import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, test } from 'node:test';
import { CallerProcess, parseStartTime, pidfdPid, processStartTime } from '../../../../src/agent/attestation/process-identity.js';
import { statLine, tempRoot, writeFakeProcess } from './proc-fixture.js';

const root = tempRoot('sigil-proc-identity-');
after(root.remove);

test('start time is field 22 even when comm holds spaces and parentheses', () => {
  assert.equal(parseStartTime(statLine(7, 'a) b (c) 1 2 3', 987654321n)), 987654321n);
  assert.equal(parseStartTime(statLine(7, ')', 5n)), 5n);
  assert.equal(parseStartTime(statLine(7, 'x'.repeat(15), 18446744073709551615n)), 18446744073709551615n, 'a u64 start time keeps every digit');
});

test('a stat line without comm or start time is rejected', () => {
  assert.throws(() => parseStartTime('12 no-parens S 1'), /no "\)"/);
  assert.throws(() => parseStartTime('12 (x) S 1 2 3'), /no start time/);
});

test('processStartTime reads <procRoot>/<pid>/stat', () => {
  writeFakeProcess(root.dir, { pid: 100, comm: 'my (weird) app', startTime: 31337n });
  assert.equal(processStartTime(100, root.dir), 31337n);
});

test('CallerProcess: same start time → same process; changed start time → pid reused; no /proc entry → gone', () => {
  const dir = writeFakeProcess(root.dir, { pid: 200, startTime: 1000n });
  const caller = new CallerProcess(200, { procRoot: root.dir });
  assert.equal(caller.startTime, 1000n);
  assert.equal(caller.stillSameProcess(), true);
  writeFileSync(join(dir, 'stat'), statLine(200, 'successor', 1001n));
  assert.equal(caller.stillSameProcess(), false, 'a new process with the same pid is not the caller');
  rmSync(dir, { recursive: true });
  assert.equal(caller.stillSameProcess(), false, 'an exited caller is not the caller');
});

test('CallerProcess refuses a pid that is already gone', () => {
  assert.throws(() => new CallerProcess(999_999, { procRoot: root.dir }), /caller pid 999999 is gone/);
});

test('pidfdPid refuses an fd that is not a pidfd', () => {
  const fd = openSync(process.execPath, 'r');
  try {
    assert.throws(() => pidfdPid(fd), /not a pidfd/);
  } finally {
    closeSync(fd);
  }
});

test('real kernel: a process that renames itself to "a) b (c) d" keeps its start time', async () => {
  // The child reads its start time while its comm is still "node" (plain split is then correct),
  // then renames itself so that a naive parser would read the wrong field.
  const child = spawn(process.execPath, ['-e', `
    const fs = require('node:fs');
    const before = fs.readFileSync('/proc/self/stat', 'utf8').split(' ')[21];
    fs.writeFileSync('/proc/self/comm', 'a) b (c) d');
    process.stdout.write(before + '\\n');
    setInterval(() => {}, 1000);
  `], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const [line] = (await once(child.stdout, 'data')) as [Buffer];
    const comm = readFileSync(`/proc/${child.pid}/comm`, 'utf8').trim();
    assert.equal(comm, 'a) b (c) d');
    assert.equal(processStartTime(child.pid as number), BigInt(line.toString().trim()));
    assert.ok(processStartTime(child.pid as number) >= processStartTime(process.pid), 'the child started after us');
  } finally {
    child.kill('SIGKILL');
  }
});
