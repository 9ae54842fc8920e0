/**
 * CSR checks on worker threads. Requests made in one turn of the event loop go out together, in
 * one message per worker, so the messaging costs little next to the key import it moves off the
 * event loop. Workers start on first use; until one is online, and if one dies, CSRs are checked
 * in process, so a request is never lost or refused for the pool's sake.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../../common/logger.js';
import { CsrError, type VerifiedCsr } from '../../pki/csr.js';
import type { KeyAlgorithm } from '../../pki/keys.js';
import { inProcessCsrVerifier, type CsrVerifier } from './csr-verifier.js';

export type CsrOutcome = { ok: true; algorithm: KeyAlgorithm; subjectPublicKeyInfo: Uint8Array } | { ok: false; csrError: boolean; message: string };
export interface CsrBatch {
  id: number;
  csrs: (string | Uint8Array)[];
}
export interface CsrBatchResult {
  id: number;
  outcomes: CsrOutcome[];
}

interface Waiting {
  csr: string | Uint8Array;
  resolve(verified: VerifiedCsr): void;
  reject(err: Error): void;
}

interface PoolWorker {
  worker: Worker;
  online: boolean;
  /** Batches sent and not answered, by id. */
  inFlight: Map<number, Waiting[]>;
  waitingCsrs: number;
}

const defaultWorkerScript = new URL('./csr-verifier-worker.js', import.meta.url);

export class CsrVerifierPool implements CsrVerifier {
  private readonly workers: PoolWorker[] = [];
  private queue: Waiting[] = [];
  private flushScheduled = false;
  private nextBatchId = 1;
  private closed = false;
  /** CSRs answered by a thread, and in process (before a thread was online, after one died, after close). */
  readonly checked = { onThreads: 0, inProcess: 0 };

  constructor(
    private readonly threads: number,
    private readonly log: Logger,
    /** The worker's module (tests swap in one that fails). */
    private readonly workerScript: URL = defaultWorkerScript,
  ) {
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`CSR verifier threads must be a positive integer, got ${threads}`);
  }

  verify(csr: string | Uint8Array): Promise<VerifiedCsr> {
    if (this.closed) {
      this.checked.inProcess++;
      return inProcessCsrVerifier.verify(csr);
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ csr, resolve, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        queueMicrotask(() => this.flush());
      }
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const workers = this.workers.splice(0);
    await Promise.all(workers.map((w) => w.worker.terminate()));
    for (const w of workers) for (const batch of w.inFlight.values()) this.checkInProcess(batch);
  }

  private flush(): void {
    this.flushScheduled = false;
    const queue = this.queue;
    this.queue = [];
    if (queue.length === 0) return;
    this.ensureWorkers();
    const online = this.workers.filter((w) => w.online);
    if (online.length === 0) return this.checkInProcess(queue);
    // Split the turn's CSRs over the workers, least loaded first.
    online.sort((a, b) => a.waitingCsrs - b.waitingCsrs);
    const share = Math.ceil(queue.length / online.length);
    for (let i = 0, w = 0; i < queue.length; i += share, w++) this.send(online[w] as PoolWorker, queue.slice(i, i + share));
  }

  private send(target: PoolWorker, batch: Waiting[]): void {
    const id = this.nextBatchId++;
    // An idle thread does not keep the process alive; one with CSRs to answer does.
    if (target.inFlight.size === 0) target.worker.ref();
    target.inFlight.set(id, batch);
    target.waitingCsrs += batch.length;
    target.worker.postMessage({ id, csrs: batch.map((w) => w.csr) } satisfies CsrBatch);
  }

  private ensureWorkers(): void {
    while (this.workers.length < this.threads) this.workers.push(this.spawn());
  }

  private spawn(): PoolWorker {
    const worker = new Worker(this.workerScript);
    worker.unref();
    const entry: PoolWorker = { worker, online: false, inFlight: new Map(), waitingCsrs: 0 };
    worker.once('online', () => (entry.online = true));
    worker.on('message', (result: CsrBatchResult) => {
      const batch = entry.inFlight.get(result.id);
      if (!batch) return;
      entry.inFlight.delete(result.id);
      entry.waitingCsrs -= batch.length;
      if (entry.inFlight.size === 0) entry.worker.unref();
      this.checked.onThreads += batch.length;
      batch.forEach((waiting, i) => settle(waiting, result.outcomes[i]));
    });
    const retire = (reason: string) => {
      const index = this.workers.indexOf(entry);
      if (index < 0) return;
      this.workers.splice(index, 1);
      if (!this.closed) this.log.error({ reason }, 'a CSR verifier thread stopped; its CSRs are checked in process and a new thread starts on next use');
      for (const batch of entry.inFlight.values()) this.checkInProcess(batch);
      entry.inFlight.clear();
    };
    worker.on('error', (err) => retire(err.message));
    worker.on('exit', (code) => retire(`exited with code ${code}`));
    return entry;
  }

  private checkInProcess(batch: Waiting[]): void {
    this.checked.inProcess += batch.length;
    for (const waiting of batch) inProcessCsrVerifier.verify(waiting.csr).then(waiting.resolve, waiting.reject);
  }
}

function settle(waiting: Waiting, outcome: CsrOutcome | undefined): void {
  if (outcome === undefined) return waiting.reject(new Error('the CSR verifier thread gave no answer for a CSR'));
  if (outcome.ok) return waiting.resolve({ algorithm: outcome.algorithm, subjectPublicKeyInfo: outcome.subjectPublicKeyInfo });
  waiting.reject(outcome.csrError ? new CsrError(outcome.message) : new Error(outcome.message));
}
