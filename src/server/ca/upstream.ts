import { readFileSync } from 'node:fs';
import { certificateDer, parseCertificatesPem, type CertificateIssuer } from '../../pki/certificates.js';
import { exportPublicKeySpki, importPrivateKeyPem } from '../../pki/keys.js';
import type { x509 } from '../../pki/crypto-provider.js';

export interface UpstreamCa {
  issuer: CertificateIssuer;
  /** Certificates between the upstream signing certificate and the root (excluded), in order. */
  intermediatesDer: Uint8Array[];
  /** Roots that go into the trust bundle. */
  rootsDer: Uint8Array[];
}

function isSelfSigned(cert: x509.X509Certificate): boolean {
  return cert.subject === cert.issuer;
}

/**
 * Load an upstream CA from PEM files: `cert_file` holds the upstream signing certificate first,
 * optionally followed by its chain; `bundle_file` (optional) holds the roots. Without a bundle file
 * the last self-signed certificate of `cert_file` is the root.
 */
export async function loadUpstreamCa(files: { cert_file: string; key_file: string; bundle_file?: string | undefined }): Promise<UpstreamCa> {
  const chain = parseCertificatesPem(readFileSync(files.cert_file, 'utf8'));
  const [signing, ...rest] = chain;
  if (!signing) throw new Error(`ca.upstream.cert_file ${files.cert_file}: no certificate found`);
  const keys = await importPrivateKeyPem(readFileSync(files.key_file, 'utf8'));
  const spki = Buffer.from(signing.publicKey.rawData);
  const keySpki = Buffer.from(await exportPublicKeySpki(keys.publicKey));
  if (!spki.equals(keySpki)) throw new Error(`ca.upstream.key_file ${files.key_file} does not match the certificate in ${files.cert_file}`);
  let roots: x509.X509Certificate[];
  let intermediates = rest;
  if (files.bundle_file) {
    roots = parseCertificatesPem(readFileSync(files.bundle_file, 'utf8'));
    if (roots.length === 0) throw new Error(`ca.upstream.bundle_file ${files.bundle_file}: no certificate found`);
  } else if (isSelfSigned(signing)) {
    roots = [signing];
  } else {
    const root = rest.filter(isSelfSigned).pop();
    if (!root) throw new Error(`ca.upstream: ${files.cert_file} has no self-signed root; give one in ca.upstream.bundle_file`);
    roots = [root];
    intermediates = rest.filter((c) => c !== root);
  }
  const selfIsRoot = roots.some((r) => Buffer.from(r.rawData).equals(Buffer.from(signing.rawData)));
  return {
    issuer: { certificate: signing, keys },
    intermediatesDer: selfIsRoot ? [] : [certificateDer(signing), ...intermediates.map(certificateDer)],
    rootsDer: roots.map(certificateDer),
  };
}
