import { existsSync, realpathSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, sep } from 'node:path';

/** `dir` with symlinks resolved as far as it exists, so that a link cannot hide where a socket really is. */
function realDirectory(dir: string): string {
  const missing: string[] = [];
  let existing = dir;
  while (!existsSync(existing) && dirname(existing) !== existing) {
    missing.unshift(basename(existing));
    existing = dirname(existing);
  }
  return join(realpathSync(existing), ...missing);
}

/**
 * Why the admin socket may not go at `adminSocketPath`, or undefined when it may. SPIRE's rule
 * (`cmd/spire-agent/cli/run/run_posix.go`): not in, nor under, the folder of the public socket,
 * which is world-reachable and often mounted into every pod (§6.0).
 */
export function adminSocketPlacementError(publicSocketPath: string, adminSocketPath: string): string | undefined {
  const publicDir = realDirectory(dirname(publicSocketPath));
  const adminDir = realDirectory(dirname(adminSocketPath));
  const fromPublic = relative(publicDir, adminDir);
  const inside = fromPublic === '' || (fromPublic !== '..' && !fromPublic.startsWith(`..${sep}`) && !isAbsolute(fromPublic));
  if (!inside) return undefined;
  return `admin socket cannot be in the same directory or a subdirectory as that containing the Workload API socket (${publicDir})`;
}
