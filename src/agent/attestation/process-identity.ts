import { closeSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Start time of a process in clock ticks since boot: field 22 of /proc/<pid>/stat. Together with
 * the pid it names one process for the life of the machine, which the pid alone does not (pids are reused).
 */
export function processStartTime(pid: number, procRoot = '/proc'): bigint {
  const stat = readFileSync(join(procRoot, String(pid), 'stat'), 'utf8');
  return parseStartTime(stat);
}

export function parseStartTime(stat: string): bigint {
  // Field 2 (comm) is in parentheses and may itself contain spaces and ')': the fields we want start
  // after the LAST ')'. That rest begins with field 3 (state), so field 22 is its 20th word.
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('malformed /proc stat: no ")" after comm');
  const startTime = stat.slice(close + 1).trim().split(/\s+/)[19];
  if (startTime === undefined || !/^\d+$/.test(startTime)) throw new Error('malformed /proc stat: no start time');
  return BigInt(startTime);
}

/** The pid a pidfd refers to, from /proc/self/fdinfo; -1 once that process has exited and been reaped. */
export function pidfdPid(pidfd: number): number {
  const fdinfo = readFileSync(`/proc/self/fdinfo/${pidfd}`, 'utf8');
  const match = /^Pid:\s*(-?\d+)\s*$/m.exec(fdinfo);
  if (!match?.[1]) throw new Error(`fd ${pidfd} is not a pidfd (no Pid: in its fdinfo)`);
  return Number(match[1]);
}

/** Which file a process runs (device and inode of /proc/<pid>/exe), or undefined if unreadable. */
export function executableIdentity(pid: number, procRoot = '/proc'): string | undefined {
  try {
    const st = statSync(join(procRoot, String(pid), 'exe'), { bigint: true });
    return `${st.dev}:${st.ino}`;
  } catch {
    return undefined;
  }
}

/**
 * PID-reuse and exec guard (lessons-from-peers row 16; issue 8 item 4). Captured when a
 * connection is accepted; after the selectors are read from /proc/<pid>, changeSinceConnect()
 * tells whether they described the caller as it connected, rather than a process that took its
 * pid in between, or the same process after it executed another program (a process may connect,
 * fork, and exec a privileged binary while its child keeps using the connection: the selectors
 * read at call time would then be the privileged binary's).
 */
export class CallerProcess {
  readonly pid: number;
  readonly startTime: bigint;
  /** The executable running when the connection was accepted. */
  readonly executable: string | undefined;
  private pidfd: number | null;
  private readonly procRoot: string;

  /** Takes ownership of `pidfd` (closed by close()). Throws if the process is already gone. */
  constructor(pid: number, options: { pidfd?: number | null; procRoot?: string } = {}) {
    this.pid = pid;
    this.pidfd = options.pidfd ?? null;
    this.procRoot = options.procRoot ?? '/proc';
    try {
      this.startTime = processStartTime(pid, this.procRoot);
    } catch (err) {
      this.close();
      throw new Error(`caller pid ${pid} is gone: ${(err as Error).message}`, { cause: err });
    }
    this.executable = executableIdentity(pid, this.procRoot);
    // The pidfd pins the process that connected: if it is still alive after we read the start
    // time and executable, they are the connecting process's, not a successor's.
    if (!this.pidfdStillNamesPid()) {
      this.close();
      throw new Error(`caller pid ${pid} exited before it could be identified`);
    }
  }

  /** Why what /proc says now may not describe the process that connected; undefined when it does. */
  changeSinceConnect(): string | undefined {
    if (!this.pidfdStillNamesPid()) return 'the calling process exited';
    try {
      if (processStartTime(this.pid, this.procRoot) !== this.startTime) return 'the calling process exited and its pid was reused';
    } catch {
      return 'the calling process exited';
    }
    if (executableIdentity(this.pid, this.procRoot) !== this.executable) return 'the calling process has executed another program since it connected';
    return undefined;
  }

  stillSameProcess(): boolean {
    return this.changeSinceConnect() === undefined;
  }

  close(): void {
    if (this.pidfd !== null) closeSync(this.pidfd);
    this.pidfd = null;
  }

  private pidfdStillNamesPid(): boolean {
    if (this.pidfd === null) return true;
    try {
      return pidfdPid(this.pidfd) === this.pid;
    } catch {
      return false;
    }
  }
}
