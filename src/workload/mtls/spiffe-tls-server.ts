/**
 * Mutual TLS on a Node `tls.Server` or `https.Server` with X509-SVIDs from the Workload API:
 * the server's certificate follows every rotation (`setSecureContext`, so connections already
 * open keep theirs), and a client is admitted only with a valid SVID of an authorized SPIFFE ID
 * that no CRL lists. OpenSSL checks the chain during the handshake; the SPIFFE checks run as
 * soon as it completes, before any application data is read. When a new CRL lists a client that
 * is still connected, its connection is closed too: revocation does not wait for a reconnect.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Server as TlsServer, TLSSocket, TlsOptions } from 'node:tls';
import type { SpiffeId } from '../../spiffe/id.js';
import { peerChainDer, type ExpectedPeer } from '../tls-identity.js';
import { PeerRevokedError, authorizePeer } from './peer-authorization.js';
import { NoSvidError, type SpiffeTlsContext } from './spiffe-tls-context.js';

export interface SpiffeTlsServerOptions {
  /** The clients to admit: a SPIFFE ID, or a predicate on it. */
  authorize: ExpectedPeer;
  now?: () => Date;
}

export interface PeerRejection {
  error: Error;
  remoteAddress: string | undefined;
}

/** What `tls.createServer` or `https.createServer` needs for mTLS with the context's current SVID. */
export function spiffeServerTlsOptions(context: SpiffeTlsContext): TlsOptions {
  return { ...context.options(), requestCert: true, rejectUnauthorized: true };
}

export class SpiffeTlsServer {
  private readonly peers = new Map<TLSSocket, { id: SpiffeId; chainDer: Uint8Array[] }>();
  private readonly rejectionListeners = new Set<(rejection: PeerRejection) => void>();
  private readonly unsubscribe: () => void;
  private readonly now: () => Date;

  /** `server` must have been created with `spiffeServerTlsOptions(context)`. */
  constructor(
    readonly server: TlsServer,
    private readonly context: SpiffeTlsContext,
    private readonly options: SpiffeTlsServerOptions,
  ) {
    this.now = options.now ?? (() => new Date());
    // First in line, so no other listener sees a connection before it is admitted.
    server.prependListener('secureConnection', this.admit);
    server.on('tlsClientError', this.handshakeFailed);
    this.unsubscribe = context.source.subscribe((event) => {
      if (event.kind === 'svid' || event.kind === 'bundles') server.setSecureContext(context.options());
      if (event.kind === 'crls') this.dropRevokedPeers();
    });
  }

  /** The SPIFFE ID of an admitted client. */
  peerId(socket: TLSSocket): SpiffeId | undefined {
    return this.peers.get(socket)?.id;
  }

  /** Called for every refused client, with the reason; returns a function that unsubscribes. */
  onRejected(listener: (rejection: PeerRejection) => void): () => void {
    this.rejectionListeners.add(listener);
    return () => this.rejectionListeners.delete(listener);
  }

  /** Stops following the source; the server itself is the caller's to close. */
  detach(): void {
    this.unsubscribe();
    this.server.off('secureConnection', this.admit);
    this.server.off('tlsClientError', this.handshakeFailed);
  }

  private readonly admit = (socket: TLSSocket): void => {
    try {
      if (!this.context.source.svid) throw new NoSvidError(`this server has no X509-SVID: ${this.context.source.unavailableReason ?? 'unknown reason'}`);
      const chainDer = peerChainDer(socket.getPeerCertificate(true));
      const id = authorizePeer(chainDer, this.context.source, this.options.authorize, this.now());
      this.peers.set(socket, { id, chainDer });
      socket.once('close', () => this.peers.delete(socket));
    } catch (err) {
      this.refuse(socket, err as Error);
    }
  };

  private dropRevokedPeers(): void {
    for (const [socket, peer] of this.peers) {
      const revocation = peer.chainDer.map((der) => this.context.source.revocations.revocationOf(der)).find((r) => r !== undefined);
      if (!revocation) continue;
      this.peers.delete(socket);
      this.refuse(socket, new PeerRevokedError(peer.id, revocation));
    }
  }

  private refuse(socket: TLSSocket, error: Error): void {
    const { remoteAddress } = socket;
    socket.destroy();
    this.rejected(error, remoteAddress);
  }

  private readonly handshakeFailed = (error: Error, socket: TLSSocket): void => {
    this.rejected(error, socket.remoteAddress);
  };

  private rejected(error: Error, remoteAddress: string | undefined): void {
    for (const listener of [...this.rejectionListeners]) listener({ error, remoteAddress });
  }
}

export type SpiffeRequestListener = (request: IncomingMessage, response: ServerResponse, peer: SpiffeId) => void;

/** An HTTPS server that admits only authorized SPIFFE clients and hands each request the client's SPIFFE ID. */
export function createSpiffeHttpsServer(context: SpiffeTlsContext, options: SpiffeTlsServerOptions, onRequest: SpiffeRequestListener): { server: HttpsServer; spiffe: SpiffeTlsServer } {
  const server = createHttpsServer(spiffeServerTlsOptions(context));
  const spiffe = new SpiffeTlsServer(server, context, options);
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const peer = spiffe.peerId(request.socket as TLSSocket);
    // Unreachable while the admission check stands in front; kept so a handler never runs for an unknown peer.
    if (!peer) {
      response.destroy();
      return;
    }
    onRequest(request, response, peer);
  });
  return { server, spiffe };
}
