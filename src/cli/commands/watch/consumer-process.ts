/** The processes the watcher tells about new files: an --exec hook per change, a supervised consumer (cmd), or a pid file. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

export type Say = (line: string) => void;

/**
 * Whether `pid` has a handler for `signal`, from the kernel's SigCgt mask (undefined when /proc
 * cannot tell). A signal whose default action is to terminate (SIGHUP, SIGUSR2) kills a consumer
 * that has not installed its handler yet: nginx or HAProxy signalled in their first milliseconds
 * would die instead of reloading.
 */
export function catchesSignal(pid: number, signal: NodeJS.Signals): boolean | undefined {
  try {
    const mask = /^SigCgt:\s*([0-9a-f]+)$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    const number = constants.signals[signal];
    if (mask === undefined || number === undefined) return undefined;
    return ((BigInt(`0x${mask}`) >> BigInt(number - 1)) & 1n) === 1n;
  } catch {
    return undefined;
  }
}

/** Send `signal` once `pid` handles it (polling up to `waitMs`); returns what happened, for the log. */
export async function signalWhenHandled(pid: number, signal: NodeJS.Signals, waitMs = 10_000): Promise<string> {
  const deadline = Date.now() + waitMs;
  while (catchesSignal(pid, signal) === false) {
    if (Date.now() > deadline) return `not signalled: pid ${pid} does not handle ${signal} (it would end it)`;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  try {
    process.kill(pid, signal);
    return `signalled: ${signal} to pid ${pid}`;
  } catch (err) {
    return `not signalled: ${signal} to pid ${pid}: ${(err as Error).message}`;
  }
}

/** Exit code for a child killed by `signal`, as a shell reports it. */
export const exitCodeOf = (code: number | null, signal: NodeJS.Signals | null): number => code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0);

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

/** `--exec`: `/bin/sh -c CMD` in its own process group, so that a stop ends the hook and whatever it started. */
export class HookRunner {
  private current: ChildProcess | undefined;

  constructor(private readonly say: Say) {}

  /** Run `command` and wait for it; a failure is reported, not fatal (the next change tries again). */
  run(command: string): Promise<void> {
    return new Promise((resolve) => {
      const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'inherit', 'inherit'], detached: true });
      this.current = child;
      child.once('error', (err) => {
        this.say(`--exec could not start: ${err.message}`);
        resolve();
      });
      child.once('exit', (code, signal) => {
        this.current = undefined;
        if (code !== 0) this.say(`--exec exited with ${signal ?? `code ${code}`}`);
        resolve();
      });
    });
  }

  /** SIGTERM to the running hook's process group (SIGKILL after `graceMs`). */
  async stop(graceMs = 5_000): Promise<void> {
    const child = this.current;
    if (!child) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    killGroup(child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(child, 'SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }
}

/**
 * `cmd` + `cmd_args`: started once the first files are written, signalled with `renew_signal` on
 * each change, stopped with SIGTERM when the watcher stops. When it exits on its own, the watcher
 * exits with its code (spiffe-helper does the same).
 */
export class SupervisedConsumer {
  private child: ChildProcess | undefined;
  readonly exited: Promise<number>;
  private resolveExit: (code: number) => void = () => undefined;

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly say: Say,
  ) {
    this.exited = new Promise((resolve) => (this.resolveExit = resolve));
  }

  get started(): boolean {
    return this.child !== undefined;
  }

  start(): void {
    const child = spawn(this.command, this.args, { stdio: ['ignore', 'inherit', 'inherit'] });
    this.child = child;
    child.once('error', (err) => {
      this.say(`cmd ${this.command} could not start: ${err.message}`);
      this.resolveExit(127);
    });
    child.once('exit', (code, signal) => {
      this.say(`cmd ${this.command} exited with ${signal ?? `code ${code}`}`);
      this.resolveExit(exitCodeOf(code, signal));
    });
    this.say(`started: ${this.command} pid=${child.pid}`);
  }

  /** `signal` to the consumer, once it handles it (a consumer still starting up is waited for, not killed). */
  async signal(signal: NodeJS.Signals): Promise<void> {
    if (this.child?.pid === undefined || this.child.exitCode !== null) return;
    this.say(await signalWhenHandled(this.child.pid, signal));
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
  async stop(graceMs = 10_000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** `pid_file_name`: signal the process whose pid the file holds; a missing file or process is said, not fatal (the consumer may not run yet). */
export async function signalPidFile(path: string, signal: NodeJS.Signals, say: Say): Promise<void> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8').trim();
  } catch (err) {
    say(`not signalled: cannot read pid file ${path}: ${(err as Error).message}`);
    return;
  }
  const pid = Number(text);
  if (!Number.isInteger(pid) || pid <= 1) {
    say(`not signalled: pid file ${path} holds ${JSON.stringify(text.slice(0, 20))}, not a pid`);
    return;
  }
  say(await signalWhenHandled(pid, signal));
}
