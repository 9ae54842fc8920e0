import { chmodSync, lstatSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { preparePrivateDirectory } from '../../common/files.js';

/**
 * Where `sigil dev` keeps things under its base folder (./.sigil):
 *
 *   .sigil/          0755  only folders, so that other users can reach public/
 *   .sigil/server/   0700  database, CA keys, admin token
 *   .sigil/agent/    0700  the agent's key, SVID and bundle
 *   .sigil/public/   0755  the Workload API socket (0777), as the README promises
 *
 * Before this layout the socket sat in agent/, a 0700 folder, where no other user could reach it.
 */
export interface DevLayout {
  base: string;
  serverDir: string;
  agentDir: string;
  socketPath: string;
}

export function devLayout(base: string): DevLayout {
  return { base, serverDir: join(base, 'server'), agentDir: join(base, 'agent'), socketPath: join(base, 'public', 'api.sock') };
}

/** Set the mode whatever the umask says; mkdir's mode is only a ceiling. */
function ensureTraversableFolder(path: string): void {
  mkdirSync(path, { recursive: true, mode: 0o755 });
  if ((lstatSync(path).mode & 0o777) !== 0o755) chmodSync(path, 0o755);
}

/**
 * Make the folders with their modes. The secret folders are made (or tightened) first, so that
 * opening the base folder (an older sigil dev made it 0700) never exposes a secret.
 */
export function prepareDevLayout(layout: DevLayout): string[] {
  const changes = [...preparePrivateDirectory(layout.serverDir, 'sigil dev data'), ...preparePrivateDirectory(layout.agentDir, 'sigil dev agent data')];
  ensureTraversableFolder(layout.base);
  ensureTraversableFolder(dirname(layout.socketPath));
  return changes;
}

/**
 * The first folder above the socket that other users cannot enter (no search bit for others),
 * e.g. a home folder of mode 0700; undefined when every folder on the way is open.
 */
export function folderClosedToOthers(socketPath: string): { path: string; mode: number } | undefined {
  for (let dir = dirname(socketPath); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode & 0o777;
    if ((mode & 0o001) === 0) return { path: dir, mode };
    if (dir === dirname(dir)) return undefined;
  }
}
