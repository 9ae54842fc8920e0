import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

/** Tests run from dist/test/..., so the repository root is three levels above this file. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export function makeTempDir(prefix = 'sigil-cli-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

export function removeDir(dir: string | undefined): void {
  if (dir) rmSync(dir, { recursive: true, force: true });
}

/** A port that was free a moment ago: listen on port 0, note the port, close. */
export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

/** The parent's environment without SIGIL_* variables, so that a developer's settings cannot leak in. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SIGIL_')));
  return { ...clean, ...env };
}

function collect(child: ChildProcess): { stdout: () => string; stderr: () => string } {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { stdout: () => stdout, stderr: () => stderr };
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolveExit) => child.once('exit', (code, signal) => resolveExit({ code, signal })));
}

export interface RunOptions {
  env?: Record<string, string>;
  cwd?: string;
  /** Kill the process (and fail) after this long. */
  timeoutMs?: number;
}

/** Run any program to completion, capturing its output. */
export async function runProcess(command: string, args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  const child = spawn(command, args, { cwd: options.cwd ?? repoRoot, env: childEnv(options.env ?? {}), stdio: ['ignore', 'pipe', 'pipe'] });
  const output = collect(child);
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
  try {
    const { code, signal } = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit, reject) => {
      child.once('error', reject);
      child.once('close', (exitCode, exitSignal) => resolveExit({ code: exitCode, signal: exitSignal }));
    });
    return { code, signal, stdout: output.stdout(), stderr: output.stderr() };
  } finally {
    clearTimeout(timer);
  }
}

/** Run `sigil <args>` (the built CLI) to completion. */
export function runCli(args: readonly string[], options: RunOptions = {}): Promise<ProcessResult> {
  return runProcess(process.execPath, [cliPath, ...args], options);
}

/** Send `signal` and wait for the exit; SIGKILL if it does not come within 10 s. */
function stopper(child: ChildProcess): (signal?: NodeJS.Signals) => Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return async (signal: NodeJS.Signals = 'SIGTERM') => {
    const done = exited(child);
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    try {
      return await done;
    } finally {
      clearTimeout(timer);
    }
  };
}

export interface SigilServerProcess {
  child: ChildProcess;
  /** host:port of the admin API. */
  address: string;
  /** host:port of the agent API (gRPC over TLS). */
  agentApiAddress: string;
  stderr(): string;
  /** Send `signal` and wait for the exit; SIGKILL if it does not come in time. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Poll /ready until it answers 200; fail early if the process exits first. */
export async function waitForReady(address: string, child: ChildProcess, stderr: () => string, attempts = 100, intervalMs = 100): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`sigil server exited (code ${child.exitCode}, signal ${child.signalCode}) before it was ready:\n${stderr()}`);
    }
    try {
      const response = await fetch(`http://${address}/ready`, { signal: AbortSignal.timeout(1000) });
      await response.body?.cancel();
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await delay(intervalMs);
  }
  throw new Error(`sigil server at ${address} was not ready after ${attempts * intervalMs} ms:\n${stderr()}`);
}

/** Start `sigil server run` as a child process and wait until it is ready. */
export async function startSigilServer(options: { env: Record<string, string>; address: string; args?: readonly string[]; cwd?: string }): Promise<SigilServerProcess> {
  // Tests run in parallel: never let a server take the default agent API port.
  const agentApiAddress = options.env.SIGIL_AGENT_API_ADDR ?? `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, [cliPath, 'server', 'run', ...(options.args ?? [])], {
    cwd: options.cwd ?? repoRoot,
    env: childEnv({ ...options.env, SIGIL_AGENT_API_ADDR: agentApiAddress }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  const stop = stopper(child);
  try {
    await waitForReady(options.address, child, output.stderr);
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return { child, address: options.address, agentApiAddress, stderr: output.stderr, stop };
}

export interface SigilAgentProcess {
  child: ChildProcess;
  /** host:port of /live, /ready, /metrics. */
  healthAddress: string;
  socketPath: string;
  stdout(): string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Start `sigil agent run` as a child process and wait until /ready says it is attested and synced. */
export async function startSigilAgent(options: { args: readonly string[]; env?: Record<string, string>; socketPath: string; dataDir: string }): Promise<SigilAgentProcess> {
  const healthAddress = `127.0.0.1:${await freePort()}`;
  const child = spawn(process.execPath, [cliPath, 'agent', 'run', '--socket-path', options.socketPath, '--data-dir', options.dataDir, ...options.args], {
    cwd: repoRoot,
    env: childEnv({ SIGIL_TRUST_DOMAIN: 'example.org', SIGIL_AGENT_HEALTH_ADDR: healthAddress, ...options.env }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collect(child);
  const stop = stopper(child);
  try {
    await waitForReady(healthAddress, child, output.stderr);
  } catch (err) {
    await stop('SIGKILL');
    throw err;
  }
  return { child, healthAddress, socketPath: options.socketPath, stdout: output.stdout, stderr: output.stderr, stop };
}
