import { z } from 'zod';
import { invalidArgument } from '../../../common/errors.js';
import type { VerifiedCsr } from '../../../pki/csr.js';
import { pemEncodeAll } from '../../../pki/pem.js';
import type { Request } from 'express';
import type { IssueX509Params, IssuedX509Svid } from '../../ca/certificate-authority.js';
import { actorOf } from '../auth.js';
import type { ApiContext } from '../context.js';
import { presentTtl } from '../present.js';

/** A PKCS#10 request in PEM, as the sign routes take it. */
export const csrField = z.string().min(1, 'must be a PEM "CERTIFICATE REQUEST"').max(64 * 1024);

/** The CSR's proof of possession checked; a bad CSR is a 400 that names the field. */
async function verifiedCsrOf(ctx: ApiContext, pem: string): Promise<VerifiedCsr> {
  return ctx.ca.verifyCsr(pem).catch((err: unknown) => {
    throw invalidArgument(`csr: ${(err as Error).message.replace(/^csr: /, '')}`);
  });
}

/** The answer of every route that signs a caller's key: the chain, the bundle, the times and the TTL report. */
export function signedSvidJson(ctx: ApiContext, svid: IssuedX509Svid) {
  return {
    spiffe_id: svid.spiffeId,
    serial: svid.serial,
    svid_pem: pemEncodeAll('CERTIFICATE', svid.chainDer),
    bundle_pem: pemEncodeAll('CERTIFICATE', ctx.ca.x509BundleDer()),
    not_before: svid.notBefore.toISOString(),
    expires_at: svid.notAfter.toISOString(),
    ttl: presentTtl(svid.ttl),
  };
}

/**
 * What every route that signs a caller's CSR does: check its proof of possession, sign it with
 * `params`, audit `action` on `target` in the issuance transaction, count it; the answer's JSON.
 */
export async function signCsrForRequest(ctx: ApiContext, req: Request, csrPem: string, params: Omit<IssueX509Params, 'subjectPublicKey'>, action: string, target: string) {
  const csr = await verifiedCsrOf(ctx, csrPem);
  const svid = await ctx.ca.issueX509Svid(
    { ...params, subjectPublicKey: csr.subjectPublicKeyInfo },
    { after: (issued) => ctx.store.audit.record(ctx.clock.now().getTime(), { actor: actorOf(req), action, target, result: 'ok', detail: { serial: issued.serial } }) },
  );
  ctx.metrics.svidsIssued.inc({ kind: params.kind });
  return signedSvidJson(ctx, svid);
}
