import { X509Certificate } from 'node:crypto';
import type { SpiffeId } from './id.js';
import { KeyUsageFlags } from '@peculiar/asn1-x509';
import { readCertificateFacts } from './certificate-facts.js';
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
  if (chainDer.length === 0) throw new X509SvidVerifyError('empty certificates chain');
  const roots = rootsDer.map((d) => new X509Certificate(d));
  const chain = chainDer.map((d) => new X509Certificate(d));
  const nowMs = now.getTime();
  for (const cert of chain) {
    if (new Date(cert.validFrom).getTime() > nowMs || new Date(cert.validTo).getTime() <= nowMs) {
      throw new X509SvidVerifyError(`certificate ${cert.serialNumber} is expired or not yet valid`);
    }
  }
  // The leaf checks of go-spiffe's x509svid.Verify (spec §2.3, X-21), with its texts.
  // node's X509Certificate.ca also wants keyCertSign (OpenSSL's X509_check_ca); read the flag itself.
  const leafFacts = readCertificateFacts(chainDer[0] as Uint8Array);
  if (leafFacts.basicConstraints?.ca) throw new X509SvidVerifyError('leaf certificate with CA flag set to true');
  const leafUsage = leafFacts.keyUsage?.flags ?? 0;
  if (leafUsage & KeyUsageFlags.keyCertSign) throw new X509SvidVerifyError('leaf certificate with KeyCertSign key usage');
  if (leafUsage & KeyUsageFlags.cRLSign) throw new X509SvidVerifyError('leaf certificate with KeyCrlSign key usage');
  for (let i = 0; i + 1 < chain.length; i++) {
    const child = chain[i] as X509Certificate;
    const parent = chain[i + 1] as X509Certificate;
    if (!parent.ca || !((readCertificateFacts(chainDer[i + 1] as Uint8Array).keyUsage?.flags ?? 0) & KeyUsageFlags.keyCertSign) || !child.verify(parent.publicKey)) {
      throw new X509SvidVerifyError('certificate chain does not verify: an intermediate is not a CA with keyCertSign, or does not sign the certificate below it');
    }
  }
  const top = chain[chain.length - 1] as X509Certificate;
  const anchored = roots.some((root) => top.raw.equals(root.raw) || (top.checkIssued(root) && top.verify(root.publicKey)));
  if (!anchored) throw new X509SvidVerifyError('certificate signed by unknown authority');
  const id = spiffeIdOfCertificate(chainDer[0] as Uint8Array);
  if (id.trustDomain !== trustDomain) throw new X509SvidVerifyError(`SPIFFE ID ${id.toString()} is not in trust domain ${trustDomain}`);
  return id;
}
