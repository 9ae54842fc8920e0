import * as grpc from '@grpc/grpc-js';
import type { Duplex } from 'node:stream';

/**
 * Serve gRPC on connections we accept ourselves, so we can learn who is on the other end at
 * accept time (kernel peer credentials on a unix socket, the client certificate on TLS) and
 * find it again from a call. grpc-js gives handlers only `call.getPeer()`, which reports the
 * socket's remoteAddress: we give each injected socket a unique one and keep a map.
 */
export class IdentifiedConnections<Identity> {
  private readonly byPeer = new Map<string, Identity>();
  private readonly injector: grpc.ConnectionInjector;
  private counter = 0;

  constructor(server: grpc.Server, private readonly label: string) {
    this.injector = server.createConnectionInjector(grpc.ServerCredentials.createInsecure());
  }

  inject(socket: Duplex & { remoteAddress?: string }, identity: Identity): void {
    const peer = `${this.label}-${++this.counter}`;
    Object.defineProperty(socket, 'remoteAddress', { value: peer, configurable: true });
    Object.defineProperty(socket, 'remotePort', { value: undefined, configurable: true });
    this.byPeer.set(peer, identity);
    socket.once('close', () => this.byPeer.delete(peer));
    this.injector.injectConnection(socket);
  }

  identityOf(call: { getPeer(): string }): Identity | undefined {
    return this.byPeer.get(call.getPeer());
  }

  get size(): number {
    return this.byPeer.size;
  }

  drain(graceMs: number): void {
    this.injector.drain(graceMs);
  }

  destroy(): void {
    this.injector.destroy();
    this.byPeer.clear();
  }
}
