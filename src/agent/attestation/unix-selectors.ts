import { readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../common/logger.js';
import { readAccountNames } from './account-names.js';
import { ExecutableHashCache } from './executable-hash.js';
import type { Selector } from './selector.js';

/** The caller as the kernel's peer credentials describe it. */
export interface UnixCaller {
  pid: number;
  uid: number;
  gid: number;
}

export interface UnixSelectorOptions {
  procRoot?: string;
  etcRoot?: string;
  /** Emit `unix:sha256` (default true). Hashes are cached, so each executable is read once. */
  hashExecutable?: boolean;
  hashCache?: ExecutableHashCache;
  logger?: Logger;
}

const defaultHashCache = new ExecutableHashCache();
const deletedSuffix = ' (deleted)';

/** Supplementary group ids from the `Groups:` line of /proc/<pid>/status. */
export function parseStatusGroups(status: string): number[] {
  const line = /^Groups:[ \t]*(.*)$/m.exec(status);
  if (!line) throw new Error('no Groups: line in /proc status');
  return (line[1] ?? '').trim().split(/\s+/).filter((g) => /^\d+$/.test(g)).map(Number);
}

/**
 * SPIRE-style unix selectors: uid, user, gid and group for the primary and every supplementary
 * group, path and sha256 of the executable.
 *
 * `uid` and the primary `gid` come from the kernel's peer credentials, not from /proc/<pid>/status:
 * the kernel recorded them atomically at connect(), while /proc is read later and shows whatever
 * the process has since switched to (a setuid() after connecting), and by pid, which can be reused.
 * Supplementary groups exist only in /proc, so they are read there; the PID-reuse guard
 * (CallerProcess) covers that read.
 */
export async function unixSelectors(caller: UnixCaller, options: UnixSelectorOptions = {}): Promise<Selector[]> {
  const procRoot = options.procRoot ?? '/proc';
  const logger = options.logger;
  const procDir = join(procRoot, String(caller.pid));
  const [status, names] = await Promise.all([
    readFile(join(procDir, 'status'), 'utf8'),
    readAccountNames(options.etcRoot, (path, err) => logger?.warn({ path, err: String(err) }, 'workload attestation: account names unreadable')),
  ]);
  const gids = [...new Set([caller.gid, ...parseStatusGroups(status)])];

  const selectors: Selector[] = [{ type: 'unix', value: `uid:${caller.uid}` }];
  const user = names.users.get(caller.uid);
  if (user !== undefined) selectors.push({ type: 'unix', value: `user:${user}` });
  for (const gid of gids) selectors.push({ type: 'unix', value: `gid:${gid}` });
  for (const gid of gids) {
    const group = names.groups.get(gid);
    if (group !== undefined) selectors.push({ type: 'unix', value: `group:${group}` });
  }
  selectors.push(...(await executableSelectors(procDir, options, logger)));
  return selectors;
}

async function executableSelectors(procDir: string, options: UnixSelectorOptions, logger: Logger | undefined): Promise<Selector[]> {
  const exeLink = join(procDir, 'exe');
  let path: string;
  try {
    path = await readlink(exeLink);
  } catch (err) {
    logger?.warn({ path: exeLink, err: String(err) }, 'workload attestation: executable path unreadable; no unix:path or unix:sha256');
    return [];
  }
  const deleted = path.endsWith(deletedSuffix);
  if (deleted) path = path.slice(0, -deletedSuffix.length);
  const selectors: Selector[] = [{ type: 'unix', value: `path:${path}` }];
  if (deleted) {
    // The path no longer names the running file: a hash beside it would vouch for a file not there.
    logger?.info({ path }, 'workload attestation: executable was deleted; no unix:sha256');
    return selectors;
  }
  if (options.hashExecutable === false) return selectors;
  try {
    const digest = await (options.hashCache ?? defaultHashCache).sha256(exeLink);
    selectors.push({ type: 'unix', value: `sha256:${digest}` });
  } catch (err) {
    logger?.warn({ path: exeLink, err: String(err) }, 'workload attestation: executable unreadable; no unix:sha256');
  }
  return selectors;
}
