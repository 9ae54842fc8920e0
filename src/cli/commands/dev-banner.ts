import { folderClosedToOthers } from './dev-layout.js';

export interface DevBannerFacts {
  trustDomain: string;
  adminAddress: string;
  dataDir: string;
  uid: number;
  spiffeId: string;
  /** unix:///abs/path, as SPIFFE_ENDPOINT_SOCKET wants it. */
  endpointSocket: string;
  socketPath: string;
}

/** What `sigil dev` prints once it serves: where things are and the two lines to try. */
export function devBanner(facts: DevBannerFacts): string {
  const closed = folderClosedToOthers(facts.socketPath);
  const reach = closed
    ? [
        `Other users cannot reach the socket: ${closed.path} is mode 0${closed.mode.toString(8)}. To give them identities too,`,
        'restart with a socket in a folder they can enter, e.g. SIGIL_AGENT_SOCKET=/tmp/sigil-dev/api.sock npm start',
        '',
      ]
    : [];
  return [
    '',
    `Sigil dev is running: trust domain ${facts.trustDomain}, admin API http://${facts.adminAddress}, data in ${facts.dataDir}`,
    `Your processes (uid ${facts.uid}) get ${facts.spiffeId}. In another shell:`,
    '',
    `  export SPIFFE_ENDPOINT_SOCKET=${facts.endpointSocket}`,
    '  npx sigil api fetch x509 --write /tmp/sigil-svid',
    '',
    ...reach,
  ].join('\n');
}
