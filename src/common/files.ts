import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, fsyncSync, lstatSync, mkdirSync, openSync, readdirSync, readlinkSync, renameSync, rmSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';

/** fsync a folder, so that a rename or a new file in it survives a power loss. */
export function fsyncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

const tempSuffix = '.tmp';

/**
 * Write through a new temp file, fsync it, rename it over `path` and fsync the folder: the file
 * has `mode` from its first byte (an existing, more open file is never rewritten in place with a
 * secret), and a crash or power loss leaves either the old file or the new one, never half of one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): void {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}${tempSuffix}`;
  try {
    const fd = openSync(temp, 'wx', mode);
    try {
      const bytes = typeof data === 'string' ? Buffer.from(data) : data;
      let written = 0;
      while (written < bytes.length) written += writeSync(fd, bytes, written, bytes.length - written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
  fsyncDirectory(dirname(path));
}

/** Remove temp files that a crash left beside `path` (from writeFileAtomic); returns their names. */
export function removeStaleTempFiles(path: string): string[] {
  const dir = dirname(path);
  const prefix = `${basename(path)}.`;
  const stale = readdirSync(dir).filter((name) => name.startsWith(prefix) && name.endsWith(tempSuffix));
  for (const name of stale) rmSync(join(dir, name), { force: true });
  return stale;
}

export class UnsafePathError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafePathError';
  }
}

const effectiveUid = (): number => process.geteuid?.() ?? 0;
const octal = (mode: number) => `0${(mode & 0o777).toString(8)}`;

/**
 * A folder for secrets (keys, tokens, the database): created 0700; an existing one must be a real
 * folder owned by this user (or root), and is tightened to 0700 if group or others may enter it.
 * `what` names the setting in errors. Returns what it changed, for the log.
 */
export function preparePrivateDirectory(path: string, what: string): string[] {
  const changes: string[] = [];
  mkdirSync(path, { recursive: true, mode: 0o700 });
  const stat = lstatSync(path);
  if (stat.isSymbolicLink() || !stat.isDirectory()) throw new UnsafePathError(`${what} ${path} is not a folder (a symbolic link or a file); give a real folder`);
  if (stat.uid !== effectiveUid() && stat.uid !== 0) throw new UnsafePathError(`${what} ${path} belongs to uid ${stat.uid}, not to this user (uid ${effectiveUid()}); another user could read or replace the secrets in it`);
  if (stat.mode & 0o077) {
    chmodSync(path, 0o700);
    changes.push(`tightened ${path} from ${octal(stat.mode)} to 0700`);
  }
  return changes;
}

/** A secret file: created empty with 0600 if missing, tightened to 0600 if it exists with more. Returns what it changed. */
export function preparePrivateFile(path: string): string[] {
  let stat: Stats | undefined;
  try {
    stat = lstatSync(path);
  } catch {
    closeSync(openSync(path, 'a', 0o600));
    return [];
  }
  if (!stat.isFile()) throw new UnsafePathError(`${path} is not a regular file`);
  if (stat.mode & 0o077) {
    chmodSync(path, 0o600);
    return [`tightened ${path} from ${octal(stat.mode)} to 0600`];
  }
  return [];
}

/** Tighten an existing secret file to 0600 (a missing one is left missing). */
export function tightenIfPresent(path: string): string[] {
  try {
    lstatSync(path);
  } catch {
    return [];
  }
  return preparePrivateFile(path);
}

/**
 * Refuse a folder that another user could change: it and every folder above it must belong to
 * this user or root, and none may be writable by group or others unless it has the sticky bit
 * (like /tmp, where others cannot rename what is ours). Otherwise another user could swap what
 * we create in it (a socket, a key) for their own.
 */
export function checkFolderNotReplaceable(path: string, what: string): void {
  const uid = effectiveUid();
  for (let dir = resolve(path); ; dir = dirname(dir)) {
    const stat = lstatSync(dir);
    if (stat.isSymbolicLink()) {
      // A link is resolved by the kernel; check where it points instead of the link itself.
      checkFolderNotReplaceable(resolve(dirname(dir), readlinkSync(dir)), what);
    } else {
      if (stat.uid !== uid && stat.uid !== 0) throw new UnsafePathError(`${what}: folder ${dir} belongs to uid ${stat.uid}, not to this user (uid ${uid}) or root; that user could replace what the agent puts there`);
      if (stat.mode & 0o022 && !(stat.mode & 0o1000)) throw new UnsafePathError(`${what}: folder ${dir} is writable by ${stat.mode & 0o002 ? 'others' : 'its group'} (${octal(stat.mode)}) without the sticky bit; they could replace what the agent puts there`);
    }
    if (dir === dirname(dir)) return;
  }
}

