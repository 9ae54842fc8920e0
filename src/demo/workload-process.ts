/** One demo workload (web or client) as a child process, and the events it reports. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseEventLine, type WorkloadEvent } from './workload-events.js';

export type WorkloadName = 'web' | 'client';

export interface WorkloadLaunch {
  name: WorkloadName;
  /** Prepended to the node command, e.g. setpriv to run as another uid. */
  runAs: readonly string[];
  args: readonly string[];
  endpointSocket: string;
}

type Listener = (event: WorkloadEvent) => void;

export class WorkloadProcess {
  readonly events: WorkloadEvent[] = [];
  private stderr = '';
  private readonly listeners = new Set<Listener>();
  private readonly exitListeners = new Set<(why: string) => void>();
  private exit: string | undefined;

  private constructor(
    readonly name: WorkloadName,
    private readonly child: ChildProcess,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const event = parseEventLine(line);
      if (!event) return;
      this.events.push(event);
      for (const listener of [...this.listeners]) listener(event);
    });
    child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (this.stderr += chunk));
    child.on('exit', (code, signal) => {
      this.exit = `the ${name} process exited (code ${code}, signal ${signal})${this.stderr ? `:\n${this.stderr.trim()}` : ''}`;
      for (const listener of [...this.exitListeners]) listener(this.exit);
    });
  }

  static start(launch: WorkloadLaunch): WorkloadProcess {
    const script = fileURLToPath(new URL(`./${launch.name}-workload.js`, import.meta.url));
    const [command, ...prefix] = [...launch.runAs, process.execPath];
    const child = spawn(command!, [...prefix, script, ...launch.args], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', SPIFFE_ENDPOINT_SOCKET: launch.endpointSocket },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new WorkloadProcess(launch.name, child);
  }

  /** Every event from now on; returns a function that unsubscribes. */
  onEvent(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Called once if the process exits, with what it printed on stderr. */
  onExit(listener: (why: string) => void): () => void {
    this.exitListeners.add(listener);
    return () => this.exitListeners.delete(listener);
  }

  /** The first event (already seen or to come) that `matches`; fails after `timeoutMs` or when the process exits. */
  waitFor<E extends WorkloadEvent>(what: string, matches: (event: WorkloadEvent) => event is E, timeoutMs: number): Promise<E>;
  waitFor(what: string, matches: (event: WorkloadEvent) => boolean, timeoutMs: number): Promise<WorkloadEvent>;
  waitFor(what: string, matches: (event: WorkloadEvent) => boolean, timeoutMs: number): Promise<WorkloadEvent> {
    const seen = this.events.find(matches);
    if (seen) return Promise.resolve(seen);
    if (this.exit) return Promise.reject(new Error(`${what}: ${this.exit}`));
    return new Promise((resolve, reject) => {
      const settle = () => {
        clearTimeout(timer);
        unsubscribe();
        unsubscribeExit();
      };
      const timer = setTimeout(() => {
        settle();
        reject(new Error(`${what}: nothing within ${timeoutMs} ms`));
      }, timeoutMs);
      const unsubscribe = this.onEvent((event) => {
        if (!matches(event)) return;
        settle();
        resolve(event);
      });
      const unsubscribeExit = this.onExit((why) => {
        settle();
        reject(new Error(`${what}: ${why}`));
      });
    });
  }

  /** SIGTERM, then SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }
}
