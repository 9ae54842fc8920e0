// The CSR checks on worker threads answer exactly what the in-process check answers (the same
// verified key, the same CsrError text), keep every answer with its request when a turn's CSRs
// are split over threads, and lose nothing when a thread dies or the pool is closed.
import assert from 'node:assert/strict';
import { writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, test } from 'node:test';
import { CsrError, createCsr, verifyCsr } from '../../../src/pki/csr.js';
import { generateKeyPair, type KeyAlgorithm } from '../../../src/pki/keys.js';
import { pemEncode } from '../../../src/pki/pem.js';
import { CsrVerifierPool } from '../../../src/server/ca/csr-verifier-pool.js';
import { silentLogger } from '../../../src/common/logger.js';
import { capturingLogger } from '../../helpers/log-capture.js';
import { tempDir } from '../../helpers/test-server.js';

const dir = tempDir('sigil-csr-pool-');
after(() => rmSync(dir, { recursive: true, force: true }));

async function csrOf(algorithm: KeyAlgorithm): Promise<Uint8Array> {
  return createCsr(await generateKeyPair(algorithm));
}

function tampered(csr: Uint8Array): Uint8Array {
  const copy = new Uint8Array(csr);
  copy[copy.length - 3] = (copy[copy.length - 3] as number) ^ 0x01;
  return copy;
}

async function outcome(check: Promise<unknown>): Promise<unknown> {
  try {
    return await check;
  } catch (err) {
    return { error: (err as Error).message, csrError: err instanceof CsrError };
  }
}

test('threads answer as the in-process check does, each answer with its own CSR, for every key type', async () => {
  const pool = new CsrVerifierPool(2, silentLogger);
  try {
    // The first call starts the threads; wait until they are online so the rest go to them.
    await pool.verify(await csrOf('ec-p256'));
    await new Promise((r) => setTimeout(r, 300));
    const valid = await Promise.all([...Array.from({ length: 40 }, () => csrOf('ec-p256')), csrOf('ec-p384'), csrOf('rsa-2048')]);
    const inputs: (string | Uint8Array)[] = [
      ...valid,
      tampered(valid[0] as Uint8Array),
      new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]),
      'not a PEM block',
      pemEncode('CERTIFICATE REQUEST', valid[1] as Uint8Array),
    ];
    // All asked in one turn: they are split over both threads.
    const fromThreads = await Promise.all(inputs.map((csr) => outcome(pool.verify(csr))));
    assert.deepEqual(pool.checked, { onThreads: inputs.length, inProcess: 1 });
    const inProcess = await Promise.all(inputs.map((csr) => outcome(verifyCsr(csr))));
    assert.deepEqual(fromThreads, inProcess);
    // The answers are not all alike: 43 distinct keys, and the refusals are CsrErrors.
    assert.equal(new Set(fromThreads.slice(0, 42).map((o) => Buffer.from((o as { subjectPublicKeyInfo: Uint8Array }).subjectPublicKeyInfo).toString('hex'))).size, 42);
    assert.deepEqual(
      fromThreads.slice(42, 45).map((o) => (o as { csrError: boolean }).csrError),
      [true, true, true],
    );
    assert.match((fromThreads[42] as { error: string }).error, /signature does not verify/);
  } finally {
    await pool.close();
  }
});

test('a thread that dies loses no CSR: its CSRs are checked in process and the death is logged', async () => {
  const script = join(dir, 'dying-worker.mjs');
  writeFileSync(script, "import { parentPort } from 'node:worker_threads';\nparentPort.on('message', () => process.exit(3));\n");
  const { logger, records } = capturingLogger();
  const pool = new CsrVerifierPool(1, logger, pathToFileURL(script));
  try {
    const first = await csrOf('ec-p256');
    await pool.verify(first); // starts the thread (answered in process until it is online)
    await new Promise((r) => setTimeout(r, 300));
    const csrs = await Promise.all([csrOf('ec-p256'), csrOf('ec-p256'), csrOf('ec-p384')]);
    const answers = await Promise.all(csrs.map((csr) => pool.verify(csr)));
    const expected = await Promise.all(csrs.map((csr) => verifyCsr(csr)));
    assert.deepEqual(answers, expected);
    assert.deepEqual(pool.checked, { onThreads: 0, inProcess: 4 });
    const deaths = records.filter((r) => r.msg === 'a CSR verifier thread stopped; its CSRs are checked in process and a new thread starts on next use');
    assert.equal(deaths.length, 1);
    assert.match(String(deaths[0]?.reason), /code 3/);
    await assert.rejects(pool.verify(tampered(first)), (err: unknown) => err instanceof CsrError);
  } finally {
    await pool.close();
  }
});

test('a closed pool still answers, in process', async () => {
  const pool = new CsrVerifierPool(1, silentLogger);
  await pool.close();
  const csr = await csrOf('ec-p256');
  assert.deepEqual(await pool.verify(csr), await verifyCsr(csr));
  assert.deepEqual(pool.checked, { onThreads: 0, inProcess: 1 });
});

test('the pool size must be a positive integer', () => {
  assert.throws(() => new CsrVerifierPool(0, silentLogger), /positive integer, got 0/);
});
