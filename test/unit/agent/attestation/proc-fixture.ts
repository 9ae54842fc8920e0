import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fake /proc/<pid> with just the files attestation reads. */
export interface FakeProcess {
  pid: number;
  comm?: string;
  startTime?: bigint;
  /** Supplementary groups for the `Groups:` line. */
  groups?: number[];
  cgroup?: string;
  /** Where `exe` points (a symlink, like the kernel's magic link). */
  exeTarget?: string;
}

export function tempRoot(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export function statLine(pid: number, comm: string, startTime: bigint): string {
  // Fields 3..21, then 22 (starttime), then a few more, as the kernel prints them.
  return `${pid} (${comm}) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 ${startTime} 12345678 678 18446744073709551615\n`;
}

export function writeFakeProcess(procRoot: string, p: FakeProcess): string {
  const dir = join(procRoot, String(p.pid));
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'stat'), statLine(p.pid, p.comm ?? 'workload', p.startTime ?? 4242n));
  writeFileSync(join(dir, 'status'), `Name:\t${p.comm ?? 'workload'}\nUid:\t1000\t1000\t1000\t1000\nGid:\t1000\t1000\t1000\t1000\nFDSize:\t64\nGroups:\t${(p.groups ?? []).join(' ')} \nNStgid:\t${p.pid}\n`);
  writeFileSync(join(dir, 'cgroup'), p.cgroup ?? '0::/user.slice/user-1000.slice/session-1.scope\n');
  if (p.exeTarget !== undefined) symlinkSync(p.exeTarget, join(dir, 'exe'));
  return dir;
}
