/** The files of one generation, rendered from what the agent sent: names, contents and modes, nothing written yet. */
import { createHash } from 'node:crypto';
import { pemEncodeAll } from '../../../pki/pem.js';
import { certificatesPem, svidKeyPem } from '../../../workload/svid-pem.js';
import type { X509Svid } from '../../../workload/x509-response.js';
import type { WatchSettings } from './watch-config.js';

export interface FileToWrite {
  name: string;
  data: string;
  mode: number;
}

/** What one generation is made of: the chosen SVID, the response's CRLs and federated bundles, and the JWT-SVIDs by file name. */
export interface WatchState {
  svid: X509Svid;
  crls: readonly Uint8Array[];
  federatedBundles: ReadonlyMap<string, readonly Uint8Array[]>;
  jwtTokens: ReadonlyMap<string, string>;
}

export function renderFiles(settings: WatchSettings, state: WatchState): FileToWrite[] {
  const { svid } = state;
  const [leaf, ...intermediates] = svid.chainDer;
  const chain = settings.addIntermediatesToBundle ? [leaf!] : svid.chainDer;
  const federated = settings.includeFederatedDomains ? [...state.federatedBundles.keys()].sort().flatMap((td) => state.federatedBundles.get(td) ?? []) : [];
  const bundle = [...(settings.addIntermediatesToBundle ? intermediates : []), ...svid.bundleDer, ...federated];
  const key = svidKeyPem(svid);
  const files: FileToWrite[] = [
    { name: settings.svidFileName, data: certificatesPem(chain), mode: settings.certFileMode },
    { name: settings.keyFileName, data: key, mode: settings.keyFileMode },
    { name: settings.bundleFileName, data: certificatesPem(bundle), mode: settings.certFileMode },
  ];
  // HAProxy's `crt`: the chain, then the key, in one file; it holds the key, so it gets the key's mode.
  if (settings.combinedFileName) files.push({ name: settings.combinedFileName, data: certificatesPem(svid.chainDer) + key, mode: settings.keyFileMode });
  if (settings.crlFileName) files.push({ name: settings.crlFileName, data: pemEncodeAll('X509 CRL', state.crls), mode: settings.certFileMode });
  for (const jwt of settings.jwtSvids) {
    const token = state.jwtTokens.get(jwt.fileName);
    if (token !== undefined) files.push({ name: jwt.fileName, data: token, mode: settings.jwtSvidFileMode });
  }
  return files;
}

/** One digest of names, modes and contents: the watcher writes and notifies only when it changes. */
export function digestOfFiles(files: readonly FileToWrite[]): string {
  const hash = createHash('sha256');
  for (const file of [...files].sort((a, b) => a.name.localeCompare(b.name))) {
    hash.update(`${file.name}\0${file.mode.toString(8)}\0${Buffer.byteLength(file.data)}\0`);
    hash.update(file.data);
  }
  return hash.digest('hex');
}
