import { join } from 'node:path';
import { ensureDirectory, writeFileWithMode } from '../files.js';
import type { X509Svid } from '../../workload/x509-response.js';

export interface SvidFiles {
  svid_file: string;
  key_file: string;
  bundle_file: string;
}

/** Go's time.RFC3339 in UTC, as SPIRE prints times. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.000Z$/, 'Z');
}

/**
 * svid.pem (chain), svid.key (0600) and bundle.pem in `dir`, each replaced by an atomic rename so
 * that a reader never sees half a file. The PEM encoders are loaded only when files are written.
 */
export async function writeSvidFiles(dir: string, svid: X509Svid): Promise<SvidFiles> {
  const { svidBundlePem, svidChainPem, svidKeyPem } = await import('../../workload/svid-pem.js');
  const files = { svid_file: join(dir, 'svid.pem'), key_file: join(dir, 'svid.key'), bundle_file: join(dir, 'bundle.pem') };
  ensureDirectory(dir);
  writeFileWithMode(files.svid_file, svidChainPem(svid), 0o644);
  writeFileWithMode(files.key_file, svidKeyPem(svid), 0o600);
  writeFileWithMode(files.bundle_file, svidBundlePem(svid), 0o644);
  return files;
}
