import { mkdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { CommandFailure } from './errors.js';

/** Create `dir` (owner-only) if it is missing; an existing directory keeps its mode. */
export function ensureDirectory(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CommandFailure(`cannot create directory ${dir}: ${(err as Error).message}`);
  }
  if (!statSync(dir).isDirectory()) throw new CommandFailure(`${dir} exists and is not a directory`);
}

/**
 * Write through a new temp file and rename it over `path`, so that the file has `mode` from its
 * first byte (an existing, more open file is never rewritten in place with a private key).
 */
export function writeFileWithMode(path: string, data: string, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data, { mode, flag: 'wx' });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw new CommandFailure(`cannot write ${path}: ${(err as Error).message}`);
  }
}
