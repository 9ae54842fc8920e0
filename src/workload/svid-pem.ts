/** PEM text of Workload API results, in the file layout spiffe-helper and `spire-agent api fetch -write` use. */
import { pemEncode, pemEncodeAll } from '../pki/pem.js';
import type { X509Svid } from './x509-response.js';

export function certificatesPem(ders: readonly Uint8Array[]): string {
  return pemEncodeAll('CERTIFICATE', ders);
}

/** svid.pem: the leaf, then its intermediates. */
export function svidChainPem(svid: X509Svid): string {
  return certificatesPem(svid.chainDer);
}

/** svid.key: the PKCS#8 private key (`BEGIN PRIVATE KEY`). */
export function svidKeyPem(svid: X509Svid): string {
  return pemEncode('PRIVATE KEY', svid.privateKeyPkcs8);
}

/** bundle.pem: the CA certificates of the SVID's own trust domain. */
export function svidBundlePem(svid: X509Svid): string {
  return certificatesPem(svid.bundleDer);
}
