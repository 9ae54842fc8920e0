import { mkdirSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../common/files.js';
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

/** writeFileAtomic, failing as a command failure that names the file. */
export function writeFileWithMode(path: string, data: string, mode: number): void {
  try {
    writeFileAtomic(path, data, mode);
  } catch (err) {
    throw new CommandFailure(`cannot write ${path}: ${(err as Error).message}`);
  }
}
