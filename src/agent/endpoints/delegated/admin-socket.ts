import * as grpc from '@grpc/grpc-js';
import { chmodSync, lstatSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../../../common/logger.js';
import { IdentifiedConnections } from '../../../common/grpc/connection-injector.js';
import { delegatedIdentityService } from '../../../common/grpc/protos.js';
import { callerOfSocket, type Caller } from '../caller.js';
import { delegatedIdentityHandlers, type DelegatedIdentityDeps } from './handlers.js';

export interface AdminSocket {
  path: string;
  close(): Promise<void>;
}

/**
 * Make the socket's folder when missing (0750: only the agent's group may reach the socket; an
 * existing folder keeps the mode its operator gave it) and remove a stale socket left by an
 * earlier run. Anything else at that path is refused, never deleted.
 */
function prepareAdminSocketPath(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o750 });
  let stat;
  try {
    stat = lstatSync(path);
  } catch {
    return;
  }
  if (!stat.isSocket()) throw new Error(`admin_socket_path ${path} exists and is not a socket; refusing to replace it`);
  rmSync(path);
}

/**
 * The Delegated Identity API on the admin socket (DI-01), never on the public one. Mode 0770 as
 * in SPIRE: only the agent's user and group may connect, and then each caller is still attested
 * from its kernel peer credentials (read at accept) and must hold an authorized delegate's
 * SPIFFE ID. A connection whose credentials cannot be read is closed.
 */
export async function serveAdminSocket(path: string, deps: DelegatedIdentityDeps, log: Logger): Promise<AdminSocket> {
  const server = new grpc.Server();
  const connections = new IdentifiedConnections<Caller>(server, 'delegate');
  server.addService(delegatedIdentityService().service, delegatedIdentityHandlers({ ...deps, log, callerOf: (call) => connections.identityOf(call) }));

  prepareAdminSocketPath(path);
  const sockets = new Set<net.Socket>();
  const listener = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    let caller: Caller;
    try {
      caller = callerOfSocket(socket);
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'admin socket: refused a connection whose peer credentials cannot be read');
      socket.destroy();
      return;
    }
    connections.inject(socket, caller);
  });
  await new Promise<void>((resolve, reject) => {
    listener.once('error', (err) => reject(new Error(`cannot listen on admin_socket_path ${path}: ${err.message}`)));
    listener.listen(path, () => resolve());
  });
  chmodSync(path, 0o770);
  log.info({ admin_socket_path: path, authorized_delegates: deps.authorizedDelegates }, 'sigil agent serving the Delegated Identity API');
  return {
    path,
    async close() {
      connections.destroy();
      // Delegates hold their streams open; close() alone would wait for them.
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((r) => listener.close(() => r()));
      server.forceShutdown();
      rmSync(path, { force: true });
    },
  };
}
