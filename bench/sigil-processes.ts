// Real `sigil server run` and `sigil agent run` processes for benchmarks that measure what an
// operator would (separate processes, their RSS), from this build or from an older one.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

export interface BenchProcess {
  child: ChildProcess;
  /** Resident set size now, MiB (from /proc). */
  rssMiB(): number;
  stderr(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

/** A memory field of /proc/<pid>/status in MiB: VmRSS (resident now) or VmHWM (the peak). */
export function procMemoryMiB(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const kb = Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
  return kb / 1024;
}

/** Start `node <cli> <args>` and wait until http://<readyAddress>/ready answers 200. */
export async function startSigil(cli: string, args: readonly string[], env: Record<string, string>, readyAddress: string, timeoutMs = 120_000, cwd?: string): Promise<BenchProcess> {
  const clean = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('SIGIL_')));
  // From the build's own checkout (dist/src/cli/main.js → the root), so that it reads its own config/.
  // BENCH_PROFILE_DIR=DIR: each process writes a V8 CPU profile there when it exits (--cpu-prof).
  const profile = process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${resolve(process.env.BENCH_PROFILE_DIR)}`] : [];
  const child = spawn(process.execPath, [...profile, cli, ...args], { cwd: cwd ?? resolve(cli, '../../../..'), env: { ...clean, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-20_000)));
  const proc: BenchProcess = {
    child,
    rssMiB: () => procMemoryMiB(child.pid as number),
    stderr: () => stderr,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`sigil exited (${child.exitCode}) before it was ready:\n${stderr}`);
    try {
      const res = await fetch(`http://${readyAddress}/ready`, { signal: AbortSignal.timeout(2000) });
      await res.body?.cancel();
      if (res.ok) return proc;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) {
      await proc.stop();
      throw new Error(`sigil at ${readyAddress} not ready after ${timeoutMs} ms:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A Prometheus gauge's value from a scrape (first series of that name). */
export function metricValue(text: string, name: string): number {
  return Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);
}

/** The admin REST API of a server process with its bootstrap token (from `<dataDir>/admin.token`); a non-2xx answer throws. */
export function adminApi(address: string, dataDir: string): (method: string, path: string, body?: unknown) => Promise<Record<string, unknown>> {
  const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
  return async (method, path, body) => {
    const res = await fetch(`http://${address}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body !== undefined && { body: JSON.stringify(body) }) });
    const text = await res.text();
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
    return (text ? JSON.parse(text) : {}) as Record<string, unknown>;
  };
}
