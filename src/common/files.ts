import { renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Write through a new temp file and rename it over `path`: the file has `mode` from its first
 * byte (an existing, more open file is never rewritten in place with a secret), and a crash
 * leaves either the old file or the new one, never half of one.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode: number): void {
  const temp = `${path}.${process.pid}.tmp`;
  try {
    writeFileSync(temp, data, { mode, flag: 'wx' });
    renameSync(temp, path);
  } catch (err) {
    rmSync(temp, { force: true });
    throw err;
  }
}
