/** Shared pieces of the mTLS helper tests: SVIDs and CRLs from a test CA, and a Workload API watch the test drives by hand. */
import { createCrl, type RevocationReason } from '../../../src/pki/crl.js';
import type { WatchErrorHandler } from '../../../src/workload/workload-client.js';
import { parseX509SvidResponse, type X509Svid, type X509SvidSet } from '../../../src/workload/x509-response.js';
import { mintTestSvid, x509Response, x509SvidMessage, type TestCa } from '../../helpers/fake-workload-api.js';

export async function testSvid(ca: TestCa, path: string, hint = '', lifetimeMs?: number): Promise<X509Svid> {
  const minted = await mintTestSvid(ca, path, lifetimeMs);
  return parseX509SvidResponse(x509Response([x509SvidMessage(minted, ca, hint)])).svids[0]!;
}

export function svidSet(svids: X509Svid[], crls: Uint8Array[] = []): X509SvidSet {
  return { svids, federatedBundles: new Map(), crls };
}

/** A CRL of `ca` listing `serials`; `signer` signs it in `ca`'s name (a forgery when it is another CA). */
export async function crlOf(ca: TestCa, serials: string[], reason: RevocationReason = 'keyCompromise', signer: TestCa = ca): Promise<Uint8Array> {
  const now = Date.now();
  return createCrl({
    issuer: { certificate: ca.certificate, keys: signer.keys },
    crlNumber: 1,
    thisUpdate: new Date(now - 1000),
    nextUpdate: new Date(now + 3_600_000),
    revoked: serials.map((serialHex) => ({ serialHex, revokedAt: new Date(now - 500), reason })),
  });
}

/** Stands in for WorkloadApiClient.watchX509Svids: the test pushes states and errors. */
export class ManualWatch {
  private onUpdate: ((set: X509SvidSet) => void) | undefined;
  private onError: WatchErrorHandler | undefined;
  stopped = false;

  watchX509Svids = (onUpdate: (set: X509SvidSet) => void, onError: WatchErrorHandler): (() => void) => {
    this.onUpdate = onUpdate;
    this.onError = onError;
    return () => {
      this.stopped = true;
    };
  };

  push(set: X509SvidSet): void {
    if (!this.onUpdate) throw new Error('nobody watches yet');
    this.onUpdate(set);
  }

  fail(error: Error, retrying = true): void {
    if (!this.onError) throw new Error('nobody watches yet');
    this.onError(error, retrying);
  }
}
