import type * as grpc from '@grpc/grpc-js';
import { chmodSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { Logger } from '../../common/logger.js';
import type { IdentifiedConnections } from '../../common/grpc/connection-injector.js';
import { callerOfSocket, type Caller } from './caller.js';

/**
 * Limits on what one calling process may hold open, so that a misbehaving or hostile local
 * process cannot exhaust the agent: connections per process here, and streams per connection by
 * HTTP/2 (`serverLimits`, for the gRPC server on such a socket; further streams wait in the
 * client until one ends, as HTTP/2 says).
 */
export const maxConnectionsPerProcess = 64;
export const maxStreamsPerConnection = 128;
export const serverLimits: grpc.ServerOptions = { 'grpc.max_concurrent_streams': maxStreamsPerConnection };

export interface AttestedUnixListener {
  path: string;
  close(): Promise<void>;
}

/**
 * Serve `server` on a unix socket we accept ourselves: each connection's caller is read from the
 * kernel (SO_PEERCRED) at accept time, and a connection whose credentials cannot be read is
 * closed. The socket gets `mode` once it exists.
 */
export async function listenAttestedUnixSocket(options: {
  path: string;
  mode: number;
  configKey: string;
  server: grpc.Server;
  connections: IdentifiedConnections<Caller>;
  log: Logger;
}): Promise<AttestedUnixListener> {
  const { path, server, connections, log } = options;
  const sockets = new Set<net.Socket>();
  /** Open connections per calling process (pid and start time: a reused pid is another process). */
  const perProcess = new Map<string, number>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let caller: Caller;
    try {
      caller = callerOfSocket(socket);
    } catch (err) {
      log.warn({ err: (err as Error).message, socket: path }, 'refused a connection whose peer credentials cannot be read');
      socket.destroy();
      return;
    }
    const key = `${caller.pid}:${caller.process.startTime}`;
    const open = perProcess.get(key) ?? 0;
    if (open >= maxConnectionsPerProcess) {
      log.warn({ pid: caller.pid, uid: caller.uid, open, socket: path }, `refused a connection: the process already holds ${maxConnectionsPerProcess} connections to this socket`);
      socket.destroy();
      return;
    }
    perProcess.set(key, open + 1);
    socket.once('close', () => {
      const left = (perProcess.get(key) ?? 1) - 1;
      if (left > 0) perProcess.set(key, left);
      else perProcess.delete(key);
    });
    connections.inject(socket, caller);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err) => reject(new Error(`cannot listen on ${options.configKey} ${path}: ${err.message}`)));
    listener.listen(path, () => resolve());
  });
  chmodSync(path, options.mode);
  return {
    path,
    async close() {
      connections.destroy();
      // Callers hold their streams open; close() alone would wait for them.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => listener.close(() => r()));
      server.forceShutdown();
      rmSync(path, { force: true });
    },
  };
}
