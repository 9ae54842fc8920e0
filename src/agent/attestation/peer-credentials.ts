import { closeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';

/** Who is on the other end of a unix socket, as the kernel recorded it at connect() time. */
export interface PeerCredentials {
  pid: number;
  uid: number;
  gid: number;
  /** A pidfd for the peer process (SO_PEERPIDFD, Linux 6.5+), or null when the kernel has none. Close with closePidfd. */
  pidfd: number | null;
}

export class PeerCredentialsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'PeerCredentialsError';
  }
}

interface PeerCredAddon {
  peerCredentials(fd: number): { pid: number; uid: number; gid: number };
  peerPidfd(fd: number): number;
  peerPidfdSupported(): boolean;
}

// Relative to dist/src/agent/attestation/ once compiled.
const addonPath = '../../../../native/build/Release/peercred.node';
const noCredentialsUid = 0xffffffff;

let addon: PeerCredAddon | undefined;
let pidfdSupported: boolean | undefined;

function loadAddon(): PeerCredAddon {
  if (!addon) {
    try {
      addon = createRequire(import.meta.url)(addonPath) as PeerCredAddon;
    } catch (err) {
      throw new PeerCredentialsError(`peer-credential addon not loadable (build it with "npm run build:native"): ${(err as Error).message}`, { cause: err });
    }
  }
  return addon;
}

/**
 * Reads the kernel's peer credentials of an accepted unix socket. Fails closed: a socket without a
 * file descriptor, a socket that is not AF_UNIX, or a peer the kernel cannot name all throw.
 * Call it in the server's 'connection' handler: once node has read the peer's EOF the socket has no fd.
 * The caller owns the returned pidfd (hand it to CallerProcess, or closePidfd it).
 */
export function readPeerCredentials(socket: Socket): PeerCredentials {
  // net.Socket has no public fd accessor; libuv's pipe handle exposes it on Linux.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new PeerCredentialsError('socket has no file descriptor: cannot read peer credentials');
  const native = loadAddon();
  let credentials: { pid: number; uid: number; gid: number };
  let pidfd: number;
  try {
    credentials = native.peerCredentials(fd);
    pidfd = native.peerPidfd(fd);
  } catch (err) {
    throw new PeerCredentialsError(`cannot read peer credentials: ${(err as Error).message}`, { cause: err });
  }
  // pid 0: the peer is in a pid namespace we cannot see into; uid -1: the kernel has no credentials.
  if (credentials.pid <= 0 || credentials.uid === noCredentialsUid || credentials.gid === noCredentialsUid) {
    closePidfd(pidfd);
    throw new PeerCredentialsError(`kernel gave no usable peer credentials (pid ${credentials.pid}, uid ${credentials.uid}, gid ${credentials.gid})`);
  }
  // On a kernel that gives pidfds for live peers, none means the caller already exited.
  if (pidfd < 0 && kernelSupportsPeerPidfd()) {
    throw new PeerCredentialsError(`caller pid ${credentials.pid} exited before its credentials were read`);
  }
  return { ...credentials, pidfd: pidfd < 0 ? null : pidfd };
}

/** Whether this kernel gives pidfds for unix socket peers (SO_PEERPIDFD). Without them the PID-reuse guard compares start times only. */
export function kernelSupportsPeerPidfd(): boolean {
  pidfdSupported ??= loadAddon().peerPidfdSupported();
  return pidfdSupported;
}

export function closePidfd(pidfd: number | null): void {
  if (pidfd !== null && pidfd >= 0) closeSync(pidfd);
}
