import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

// A reader of a certificate and its key in another thread, for tests of sigil api watch's files.

/**
 * The reader, as worker source. Modes: `names` opens svid.pem then svid.key through the names a
 * proxy is configured with, and reads ..data before and after (a generation folder is never reused,
 * so equal values mean no swap happened between the two opens); `resolved` resolves ..data once and
 * reads both files from that folder; `combined` reads the one cert+key file; `plain` reads two plain
 * files (the layout before this change).
 */
const readerSource = `
const { workerData, parentPort } = require('node:worker_threads');
const { readFileSync, readlinkSync, realpathSync } = require('node:fs');
const { X509Certificate, createPublicKey } = require('node:crypto');
const { join } = require('node:path');
const { dir, mode, stop, pauseMs, names } = workerData;
const flag = new Int32Array(stop);
const keys = new Map();
const spki = (text, isKey) => {
  let value = keys.get(text);
  if (value === undefined) {
    const pem = isKey ? /-----BEGIN PRIVATE KEY-----[\\s\\S]*?-----END PRIVATE KEY-----/.exec(text)[0] : text;
    value = (isKey ? createPublicKey(pem) : new X509Certificate(pem).publicKey).export({ type: 'spki', format: 'der' }).toString('hex');
    keys.set(text, value);
  }
  return value;
};
const counts = { reads: 0, straddled: 0, mismatches: 0, mismatchesWithoutSwap: 0, errors: 0, pairs: new Set() };
while (Atomics.load(flag, 0) === 0) {
  if (pauseMs > 0) Atomics.wait(flag, 0, 0, pauseMs);
  let cert, key, before, after;
  try {
    if (mode === 'names' || mode === 'plain') {
      if (mode === 'names') before = readlinkSync(join(dir, '..data'));
      cert = readFileSync(join(dir, names.cert), 'utf8');
      key = readFileSync(join(dir, names.key), 'utf8');
      if (mode === 'names') after = readlinkSync(join(dir, '..data'));
    } else if (mode === 'resolved') {
      const folder = realpathSync(join(dir, '..data'));
      cert = readFileSync(join(folder, names.cert), 'utf8');
      key = readFileSync(join(folder, names.key), 'utf8');
    } else {
      cert = key = readFileSync(join(dir, names.combined), 'utf8');
    }
  } catch (err) {
    counts.errors++;
    continue;
  }
  counts.reads++;
  if (before !== after) counts.straddled++;
  const c = spki(cert, false);
  counts.pairs.add(c);
  if (c !== spki(key, true)) {
    counts.mismatches++;
    if (before === after) counts.mismatchesWithoutSwap++;
  }
}
parentPort.postMessage({ ...counts, pairs: counts.pairs.size });
`;

export interface ReaderCounts {
  reads: number;
  straddled: number;
  mismatches: number;
  mismatchesWithoutSwap: number;
  errors: number;
  /** Distinct certificates seen. */
  pairs: number;
}

export type PairReaderMode = 'names' | 'resolved' | 'combined' | 'plain';

/** Start reading `dir` in a worker thread (every `pauseMs`, or as fast as it can); `stop` returns what it saw. */
export async function startPairReader(dir: string, mode: PairReaderMode, options: { pauseMs?: number; names?: { cert: string; key: string; combined: string } } = {}): Promise<{ stop(): Promise<ReaderCounts> }> {
  const names = options.names ?? { cert: 'svid.pem', key: 'svid.key', combined: 'combined.pem' };
  const stop = new SharedArrayBuffer(4);
  const worker = new Worker(readerSource, { eval: true, workerData: { dir, mode, stop, pauseMs: options.pauseMs ?? 0, names } });
  await once(worker, 'online');
  return {
    async stop() {
      const message = once(worker, 'message');
      Atomics.store(new Int32Array(stop), 0, 1);
      Atomics.notify(new Int32Array(stop), 0);
      const [counts] = (await message) as [ReaderCounts];
      await worker.terminate();
      return counts;
    },
  };
}
