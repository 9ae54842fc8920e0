import type { PeerCertificate } from 'node:tls';

/** The chain a TLS peer sent, leaf first, as DER (Node links it through issuerCertificate). */
export function peerChainDer(cert: PeerCertificate & { issuerCertificate?: PeerCertificate }): Buffer[] {
  const chain: Buffer[] = [];
  let current: (PeerCertificate & { issuerCertificate?: PeerCertificate }) | undefined = cert;
  while (current && current.raw && chain.length < 10) {
    const raw = current.raw;
    if (chain.some((c) => c.equals(raw))) break;
    chain.push(raw);
    current = current.issuerCertificate;
  }
  return chain;
}
