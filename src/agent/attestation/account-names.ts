import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * id → name from passwd(5)/group(5) text: `name:password:id:...`. Comments, blank lines, NIS
 * `+`/`-` lines and lines without a numeric id are skipped. The first line for an id wins, as
 * getpwuid(3)/getgrgid(3) do.
 */
export function parseIdNames(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#') || line.startsWith('+') || line.startsWith('-')) continue;
    const [name, , id] = line.split(':');
    if (!name || id === undefined || !/^\d+$/.test(id)) continue;
    const n = Number(id);
    if (!Number.isSafeInteger(n) || n > 0xfffffffe || names.has(n)) continue;
    names.set(n, name);
  }
  return names;
}

export interface AccountNames {
  users: Map<number, string>;
  groups: Map<number, string>;
}

/** Reads in progress by etc root: callers attested together share one read (each caller after it reads afresh). */
const readsInFlight = new Map<string, Promise<AccountNames>>();

/**
 * Names from the agent's own /etc (not the workload's root, which the workload controls).
 * A missing or unreadable file gives no names rather than an error: `unix:uid`/`unix:gid` still stand.
 * Concurrent calls share one read, so a burst of callers opens passwd and group once.
 */
export function readAccountNames(etcRoot = '/etc', onUnreadable?: (path: string, err: unknown) => void): Promise<AccountNames> {
  const inFlight = readsInFlight.get(etcRoot);
  if (inFlight) return inFlight;
  const read = readAccountNamesNow(etcRoot, onUnreadable).finally(() => readsInFlight.delete(etcRoot));
  readsInFlight.set(etcRoot, read);
  return read;
}

async function readAccountNamesNow(etcRoot = '/etc', onUnreadable?: (path: string, err: unknown) => void): Promise<AccountNames> {
  const read = async (file: string) => {
    const path = join(etcRoot, file);
    try {
      return parseIdNames(await readFile(path, 'utf8'));
    } catch (err) {
      onUnreadable?.(path, err);
      return new Map<number, string>();
    }
  };
  const [users, groups] = await Promise.all([read('passwd'), read('group')]);
  return { users, groups };
}
