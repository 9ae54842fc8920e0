// A worker thread of CsrVerifierPool: checks batches of CSRs with verifyCsr and answers with the
// verified key or the CsrError's message, in the order asked.
import { parentPort } from 'node:worker_threads';
import { CsrError, verifyCsr } from '../../pki/csr.js';
import type { CsrBatch, CsrBatchResult, CsrOutcome } from './csr-verifier-pool.js';

async function check(csr: string | Uint8Array): Promise<CsrOutcome> {
  try {
    const verified = await verifyCsr(csr);
    return { ok: true, algorithm: verified.algorithm, subjectPublicKeyInfo: verified.subjectPublicKeyInfo };
  } catch (err) {
    return { ok: false, csrError: err instanceof CsrError, message: err instanceof Error ? err.message : String(err) };
  }
}

parentPort?.on('message', (batch: CsrBatch) => {
  void Promise.all(batch.csrs.map(check)).then((outcomes) => parentPort?.postMessage({ id: batch.id, outcomes } satisfies CsrBatchResult));
});
