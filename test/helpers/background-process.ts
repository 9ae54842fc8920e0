import { spawn, type ChildProcess } from 'node:child_process';
import { setTimeout as delay } from 'node:timers/promises';
import { childEnv } from './sigil-process.js';

/** A shell command left running (like `cmd &`), in its own process group so that all of it can be stopped. */
export class BackgroundProcess {
  private out = '';
  private readonly child: ChildProcess;

  /** `env` is added to this process's environment, less its SIGIL_* variables. */
  constructor(command: string, options: { cwd: string; env: Record<string, string> }) {
    this.child = spawn('sh', ['-c', command], { cwd: options.cwd, env: childEnv(options.env), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.setEncoding('utf8').on('data', (d: string) => (this.out += d));
    this.child.stderr?.setEncoding('utf8').on('data', (d: string) => (this.out += d));
  }

  /** stdout and stderr, interleaved as they came. */
  output(): string {
    return this.out;
  }

  /** Wait until the output matches `pattern` (counting from `from`); fail if the process exits first. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000, from = 0): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.out.slice(from));
      if (match) return match;
      if (this.child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`no ${pattern} in the output (exit code ${this.child.exitCode}):\n${this.out}`);
      }
      await delay(50);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null || this.child.pid === undefined) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    try {
      process.kill(-this.child.pid, 'SIGTERM');
    } catch {
      return;
    }
    const timer = setTimeout(() => this.child.pid !== undefined && process.kill(-this.child.pid, 'SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
