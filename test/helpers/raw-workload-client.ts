import * as grpc from '@grpc/grpc-js';
import { workloadApiService } from '../../src/common/grpc/protos.js';
import type { JwtSvidResponse, ValidateJwtSvidResponse, X509SvidResponse } from '../../src/common/grpc/workload-api-types.js';

/**
 * A Workload API client made straight from the spec proto with @grpc/grpc-js, as a SPIFFE
 * client written by someone else would be: no Sigil client code in between.
 */
export interface RawWorkloadClient extends grpc.Client {
  FetchX509SVID(req: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<X509SvidResponse>;
  FetchX509Bundles(req: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<{ bundles: Record<string, Buffer> }>;
  FetchJWTBundles(req: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<{ bundles: Record<string, Buffer> }>;
  FetchJWTSVID(req: { audience: string[]; spiffe_id?: string }, metadata: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: JwtSvidResponse) => void): void;
  ValidateJWTSVID(req: { audience: string; svid: string }, metadata: grpc.Metadata, cb: (err: grpc.ServiceError | null, res?: ValidateJwtSvidResponse) => void): void;
  FetchWITSVID(req: object, metadata?: grpc.Metadata): grpc.ClientReadableStream<unknown>;
}

export function rawWorkloadClient(socketPath: string): RawWorkloadClient {
  const Client = workloadApiService() as unknown as new (address: string, creds: grpc.ChannelCredentials) => RawWorkloadClient;
  return new Client(`unix://${socketPath}`, grpc.credentials.createInsecure());
}

export function securityHeader(): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set('workload.spiffe.io', 'true');
  return md;
}

/** The first message of a stream, or its error. */
export function firstMessage<T>(stream: grpc.ClientReadableStream<T>, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stream.cancel();
      reject(new Error(`no message within ${timeoutMs} ms`));
    }, timeoutMs);
    stream.once('data', (m: T) => {
      clearTimeout(timer);
      stream.cancel();
      resolve(m);
    });
    stream.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

/** Collects every message and the final error of a long-lived stream. */
export class StreamRecorder<T> {
  readonly messages: { at: number; message: T }[] = [];
  error: grpc.ServiceError | undefined;
  private waiters: (() => void)[] = [];

  constructor(readonly stream: grpc.ClientReadableStream<T>) {
    stream.on('data', (message: T) => {
      this.messages.push({ at: Date.now(), message });
      this.wake();
    });
    stream.on('error', (err: grpc.ServiceError) => {
      this.error = err;
      this.wake();
    });
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    waiters.forEach((w) => w());
  }

  /** Wait until `predicate` holds (checked on every message or error), bounded by `timeoutMs`. */
  async until(predicate: (r: StreamRecorder<T>) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what}; got ${this.messages.length} messages, error ${this.error?.details ?? 'none'}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.stream.cancel();
  }
}

export function fetchJwt(client: RawWorkloadClient, audience: string[], spiffeId?: string, metadata = securityHeader()): Promise<JwtSvidResponse> {
  return new Promise((resolve, reject) => client.FetchJWTSVID({ audience, ...(spiffeId && { spiffe_id: spiffeId }) }, metadata, (err, res) => (err ? reject(err) : resolve(res as JwtSvidResponse))));
}

export function validateJwt(client: RawWorkloadClient, audience: string, svid: string): Promise<ValidateJwtSvidResponse> {
  return new Promise((resolve, reject) => client.ValidateJWTSVID({ audience, svid }, securityHeader(), (err, res) => (err ? reject(err) : resolve(res as ValidateJwtSvidResponse))));
}

/** Split concatenated DER certificates (each is one SEQUENCE with a definite length). */
export function splitDer(concatenated: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let offset = 0;
  while (offset < concatenated.length) {
    const lengthByte = concatenated[offset + 1] ?? 0;
    let length: number;
    let header: number;
    if (lengthByte < 0x80) {
      length = lengthByte;
      header = 2;
    } else {
      const n = lengthByte & 0x7f;
      length = 0;
      for (let i = 0; i < n; i++) length = length * 256 + (concatenated[offset + 2 + i] ?? 0);
      header = 2 + n;
    }
    out.push(concatenated.subarray(offset, offset + header + length));
    offset += header + length;
  }
  return out;
}
