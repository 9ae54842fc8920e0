// The workloads of the streams benchmark: N open FetchX509SVID streams in a process of their own,
// spread over connections of 100 streams each, counting the messages every stream received.
import * as grpc from '@grpc/grpc-js';
import { setTimeout as delay } from 'node:timers/promises';
import { workloadApiService } from '../../src/common/grpc/protos.js';
import { serveParent } from './ipc.js';

interface FetchClient extends grpc.Client {
  FetchX509SVID(req: object, md: grpc.Metadata): grpc.ClientReadableStream<unknown>;
}

const streamsPerConnection = 100;
let clients: FetchClient[] = [];
let streams: grpc.ClientReadableStream<unknown>[] = [];
let received: number[] = [];
/** The leaf (chain) of the first SVID in each stream's latest message, and at the last mark. */
let latestSvid: (Buffer | undefined)[] = [];
let markedSvid: (Buffer | undefined)[] = [];
let failure: Error | undefined;

async function until(condition: () => boolean, timeoutMs: number, what: string): Promise<number> {
  const start = performance.now();
  while (!condition()) {
    if (failure) throw failure;
    if (performance.now() - start > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(5);
  }
  return performance.now() - start;
}

serveParent({
  async open(args: { socketPath: string; streams: number }) {
    const Client = workloadApiService() as unknown as new (a: string, c: grpc.ChannelCredentials, o: grpc.ChannelOptions) => FetchClient;
    const metadata = new grpc.Metadata();
    metadata.set('workload.spiffe.io', 'true');
    clients = Array.from({ length: Math.ceil(args.streams / streamsPerConnection) }, () => new Client(`unix://${args.socketPath}`, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
    received = new Array<number>(args.streams).fill(0);
    latestSvid = new Array<Buffer | undefined>(args.streams).fill(undefined);
    streams = received.map((_, i) => {
      const stream = (clients[Math.floor(i / streamsPerConnection)] as FetchClient).FetchX509SVID({}, metadata);
      stream.on('data', (message: { svids?: { x509_svid: Buffer }[] }) => {
        received[i] = (received[i] ?? 0) + 1;
        latestSvid[i] = message.svids?.[0]?.x509_svid;
      });
      stream.on('error', (err: grpc.ServiceError) => {
        if (err.code !== grpc.status.CANCELLED) failure = err;
      });
      return stream;
    });
    return until(() => received.every((n) => n >= 1), 600_000, 'a first message on every stream');
  },
  /** How long until every stream has received `messages` messages. */
  async await(args: { messages: number }) {
    return until(() => received.every((n) => n >= args.messages), 600_000, `${args.messages} messages on every stream`);
  },
  /** Remember the SVID every stream holds now. */
  async mark() {
    markedSvid = [...latestSvid];
  },
  /** How long until every stream holds an SVID other than the one it held at the mark. */
  async awaitNewSvid() {
    return until(() => latestSvid.every((svid, i) => svid !== undefined && !svid.equals(markedSvid[i] as Buffer)), 600_000, 'a new SVID on every stream');
  },
  async counts() {
    return { min: Math.min(...received), max: Math.max(...received) };
  },
  async close() {
    streams.forEach((s) => s.cancel());
    clients.forEach((c) => c.close());
    setImmediate(() => process.exit(0));
  },
});
