import { spawn, type ChildProcess } from 'node:child_process';
import { AsyncQueue } from './fake-workload-api.js';
import { cliPath, repoRoot } from './sigil-process.js';

export interface WatchProcess {
  child: ChildProcess;
  /** stdout, a line at a time, in order. */
  lines: AsyncQueue<string>;
  /** Every stdout line so far. */
  stdout(): string[];
  stderr(): string;
  exited: Promise<number | null>;
  /** SIGTERM and the exit code (SIGKILL after 10 s). */
  stop(): Promise<number | null>;
}

/** `sigil api watch ARGS` as a child process (no SPIFFE_ENDPOINT_SOCKET from this one), its stdout as a queue of lines. */
export function startWatch(args: string[], env: Record<string, string> = {}): WatchProcess {
  const child = spawn(process.execPath, [cliPath, 'api', 'watch', ...args], {
    cwd: repoRoot,
    env: { ...process.env, SPIFFE_ENDPOINT_SOCKET: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines = new AsyncQueue<string>();
  const all: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const complete = (partial + chunk).split('\n');
    partial = complete.pop() ?? '';
    for (const line of complete) {
      all.push(line);
      lines.push(line);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  return { child, lines, stdout: () => all, stderr: () => stderr, exited, stop };
}
