import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface ReceivedWebhook {
  id: string;
  headers: IncomingHttpHeaders;
  /** The raw body, as the signature covers it. */
  body: string;
}

/** What the receiver does with a request: answer with a status, or never answer. */
export type ReceiverBehaviour = (request: ReceivedWebhook, index: number) => number | 'hang';

/** A real HTTP webhook receiver on 127.0.0.1, recording every request and every 2xx it sent. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  /** webhook-ids answered with 2xx, in order, once per answer. */
  readonly acknowledged: string[] = [];
  behaviour: ReceiverBehaviour = () => 204;
  private readonly sockets = new Set<Socket>();
  private readonly hanging = new Set<ServerResponse>();
  private readonly server: Server;
  private waiters: { count: number; resolve: () => void }[] = [];

  private constructor(private port: number) {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        const request: ReceivedWebhook = { id: String(req.headers['webhook-id'] ?? ''), headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
        const index = this.received.push(request) - 1;
        const answer = this.behaviour(request, index);
        if (answer === 'hang') {
          this.hanging.add(res);
        } else {
          if (answer >= 200 && answer < 300) this.acknowledged.push(request.id);
          res.writeHead(answer, { 'content-type': 'text/plain' }).end(answer >= 300 ? `receiver says ${answer}` : '');
        }
        this.notify();
      });
    });
    this.server.on('connection', (socket) => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  static async start(): Promise<WebhookReceiver> {
    const receiver = new WebhookReceiver(0);
    await receiver.listen();
    return receiver;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}/hooks`;
  }

  ids(): string[] {
    return this.received.map((r) => r.id);
  }

  /** Resolves once `count` requests in all have arrived. */
  waitForRequests(count: number): Promise<void> {
    if (this.received.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  /** Stop listening and drop every connection: senders get "connection refused". */
  async down(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    this.hanging.clear();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listen again, on the same port. */
  async up(): Promise<void> {
    await this.listen();
  }

  async stop(): Promise<void> {
    if (this.server.listening) await this.down();
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.port, '127.0.0.1', () => {
        this.server.off('error', reject);
        this.port = (this.server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  private notify(): void {
    const ready = this.waiters.filter((w) => this.received.length >= w.count);
    this.waiters = this.waiters.filter((w) => this.received.length < w.count);
    for (const waiter of ready) waiter.resolve();
  }
}
