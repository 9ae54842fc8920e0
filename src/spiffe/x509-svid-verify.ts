import { X509Certificate } from 'node:crypto';
import type { SpiffeId } from './id.js';
import { spiffeIdOfCertificate } from './x509-svid-profile.js';

export class X509SvidVerifyError extends Error {
  override readonly name = 'X509SvidVerifyError';
}

/**
 * Verify an X509-SVID chain (leaf first) against the roots of its trust domain at `now`, and return
 * its SPIFFE ID (X-20..X-22: only that trust domain's bundle is used). Callers use this instead of
 * the TLS stack's check so the roots can change with every CA rotation.
 */
export function verifyX509SvidChain(chainDer: readonly Uint8Array[], rootsDer: readonly Uint8Array[], now: Date, trustDomain: string): SpiffeId {
  if (chainDer.length === 0) throw new X509SvidVerifyError('no client certificate');
  const roots = rootsDer.map((d) => new X509Certificate(d));
  const chain = chainDer.map((d) => new X509Certificate(d));
  const nowMs = now.getTime();
  for (const cert of chain) {
    if (new Date(cert.validFrom).getTime() > nowMs || new Date(cert.validTo).getTime() <= nowMs) {
      throw new X509SvidVerifyError(`certificate ${cert.serialNumber} is expired or not yet valid`);
    }
  }
  const leaf = chain[0] as X509Certificate;
  if (leaf.ca) throw new X509SvidVerifyError('leaf certificate with CA flag set to true');
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as X509Certificate;
    const parent = chain[i + 1] as X509Certificate;
    if (!parent.ca || !child.verify(parent.publicKey)) throw new X509SvidVerifyError('certificate chain does not verify');
  }
  const top = chain[chain.length - 1] as X509Certificate;
  const anchored = roots.some((root) => top.raw.equals(root.raw) || (top.checkIssued(root) && top.verify(root.publicKey)));
  if (!anchored) throw new X509SvidVerifyError('certificate signed by unknown authority');
  const id = spiffeIdOfCertificate(chainDer[0] as Uint8Array);
  if (id.trustDomain !== trustDomain) throw new X509SvidVerifyError(`SPIFFE ID ${id.toString()} is not in trust domain ${trustDomain}`);
  return id;
}
