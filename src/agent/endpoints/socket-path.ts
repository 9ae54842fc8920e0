import { lstatSync, mkdirSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { checkFolderNotReplaceable } from '../../common/files.js';

/**
 * Make a socket's folder when missing (with `folderMode`; an existing folder keeps the mode its
 * operator gave it), refuse a folder that another user could change (they could swap the socket
 * for their own), and remove a stale socket left by an earlier run. Anything else at the path is
 * refused, never deleted. `setting` names the config key in errors.
 */
export function prepareSocketPath(path: string, setting: string, folderMode: number): void {
  prepareSocketFolder(path, setting, folderMode);
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`${setting} ${path} exists and is not a socket; refusing to replace it`);
  rmSync(path);
}

/** The folder part of prepareSocketPath: made when missing, refused when another user could change it. */
export function prepareSocketFolder(path: string, setting: string, folderMode: number): void {
  mkdirSync(dirname(path), { recursive: true, mode: folderMode });
  checkFolderNotReplaceable(dirname(path), setting);
}
