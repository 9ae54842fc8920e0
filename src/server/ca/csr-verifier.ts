/**
 * Checks a PKCS#10 request's proof of possession. Importing the requester's public key is the
 * largest per-SVID cost left on the event loop (OpenSSL 3 checks the EC point: ~60 µs for P-256),
 * so the server checks CSRs on worker threads (`CsrVerifierPool`); this interface lets the CA and
 * tests use either that or the in-process check.
 */
import { verifyCsr, type VerifiedCsr } from '../../pki/csr.js';

export interface CsrVerifier {
  /** Resolves with the verified key, or rejects with verifyCsr's CsrError (same message). */
  verify(csr: string | Uint8Array): Promise<VerifiedCsr>;
  close(): Promise<void>;
}

export const inProcessCsrVerifier: CsrVerifier = {
  verify: (csr) => verifyCsr(csr),
  close: async () => undefined,
};
