/**
 * A fake SPIFFE Workload API for the CLIENT tests (src/workload, `sigil api`): a real
 * @grpc/grpc-js server built from proto/spiffe/workload.proto, on a real unix socket in a temp
 * directory. It stands in for the Sigil agent in these client tests only; the agent's own
 * endpoint is tested against its own code. Like SPIRE it rejects calls without the security
 * header (WL-02), and it answers with whatever the test put in it, SVIDs minted in the test.
 */
import * as grpc from '@grpc/grpc-js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { workloadApiService } from '../../src/common/grpc/protos.js';
import {
  workloadSecurityHeader,
  type JwtBundlesResponse,
  type JwtSvidRequest,
  type JwtSvidResponse,
  type ValidateJwtSvidRequest,
  type ValidateJwtSvidResponse,
  type X509BundlesResponse,
  type X509Svid as X509SvidMessage,
  type X509SvidResponse,
} from '../../src/common/grpc/workload-api-types.js';
import { certificateDer, createSelfSignedCaCertificate, mintX509Leaf, serialHexOf } from '../../src/pki/certificates.js';
import { exportPrivateKeyPkcs8, generateKeyPair, type KeyPair } from '../../src/pki/keys.js';
import { concatDer } from '../../src/pki/pem.js';
import type { x509 } from '../../src/pki/crypto-provider.js';

export interface FakeStatus {
  code: grpc.status;
  details: string;
}

export type Answer<T> = T | FakeStatus;

export interface RecordedCall {
  method: string;
  /** Every value of the `workload.spiffe.io` metadata key the call carried. */
  securityHeader: string[];
  request: unknown;
}

export interface TestCa {
  trustDomain: string;
  keys: KeyPair;
  certificate: x509.X509Certificate;
  der: Uint8Array;
}

export interface TestSvid {
  spiffeId: string;
  serial: string;
  notAfter: Date;
  leafDer: Uint8Array;
  keyPkcs8: Uint8Array;
}

const HOUR_MS = 3_600_000;

export async function createTestCa(trustDomain = 'example.org'): Promise<TestCa> {
  const keys = await generateKeyPair('ec-p256');
  const now = Date.now();
  const certificate = await createSelfSignedCaCertificate(keys, {
    trustDomain,
    subject: 'C=US, O=Sigil test CA',
    notBefore: new Date(now - HOUR_MS),
    notAfter: new Date(now + 24 * HOUR_MS),
  });
  return { trustDomain, keys, certificate, der: certificateDer(certificate) };
}

/** A leaf for `spiffe://<td><path>` signed by `ca`, with a fresh P-256 key. */
export async function mintTestSvid(ca: TestCa, path: string, lifetimeMs = HOUR_MS): Promise<TestSvid> {
  const keys = await generateKeyPair('ec-p256');
  const spiffeId = `spiffe://${ca.trustDomain}${path}`;
  const now = Date.now();
  const leaf = await mintX509Leaf({
    spiffeId,
    dnsNames: [],
    subjectPublicKey: keys.publicKey,
    issuer: { certificate: ca.certificate, keys: ca.keys },
    notBefore: new Date(now - 60_000),
    notAfter: new Date(now + lifetimeMs),
  });
  return { spiffeId, serial: serialHexOf(leaf), notAfter: leaf.notAfter, leafDer: certificateDer(leaf), keyPkcs8: await exportPrivateKeyPkcs8(keys.privateKey) };
}

/** The X509SVID message an agent would send for `svid`. */
export function x509SvidMessage(svid: TestSvid, ca: TestCa, hint = ''): X509SvidMessage {
  return {
    spiffe_id: svid.spiffeId,
    x509_svid: Buffer.from(svid.leafDer),
    x509_svid_key: Buffer.from(svid.keyPkcs8),
    bundle: Buffer.from(ca.der),
    hint,
  };
}

export function x509Response(svids: X509SvidMessage[], federated: Record<string, Uint8Array[]> = {}): X509SvidResponse {
  const federated_bundles = Object.fromEntries(Object.entries(federated).map(([id, ders]) => [id, Buffer.from(concatDer(ders))]));
  return { svids, crl: [], federated_bundles };
}

const isStatus = (answer: unknown): answer is FakeStatus => typeof answer === 'object' && answer !== null && 'code' in answer && 'details' in answer;

export class FakeWorkloadApi {
  readonly calls: RecordedCall[] = [];
  x509: Answer<X509SvidResponse> = { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' };
  x509Bundles: Answer<X509BundlesResponse> = { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' };
  jwtBundles: Answer<JwtBundlesResponse> = { code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' };
  jwtSvids: (request: JwtSvidRequest) => Answer<JwtSvidResponse> = () => ({ code: grpc.status.PERMISSION_DENIED, details: 'no identity issued' });
  validateJwt: (request: ValidateJwtSvidRequest) => Answer<ValidateJwtSvidResponse> = () => ({ code: grpc.status.INVALID_ARGUMENT, details: 'token has expired' });

  private readonly x509Streams = new Set<grpc.ServerWritableStream<unknown, X509SvidResponse>>();

  private constructor(
    private readonly server: grpc.Server,
    readonly dir: string,
    readonly socketPath: string,
  ) {}

  /** `unix:///...`: the value a SPIFFE_ENDPOINT_SOCKET would hold. */
  get address(): string {
    return `unix://${this.socketPath}`;
  }

  get openX509Streams(): number {
    return this.x509Streams.size;
  }

  static async start(): Promise<FakeWorkloadApi> {
    const dir = mkdtempSync(join(tmpdir(), 'sigil-fake-wl-'));
    const socketPath = join(dir, 'agent.sock');
    const server = new grpc.Server();
    const fake = new FakeWorkloadApi(server, dir, socketPath);
    server.addService(workloadApiService().service, fake.handlers());
    await new Promise<void>((resolve, reject) => {
      server.bindAsync(`unix://${socketPath}`, grpc.ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve()));
    });
    return fake;
  }

  /** Sets the X.509 answer and sends it on every open FetchX509SVID stream, as an agent does on rotation. */
  pushX509(response: X509SvidResponse): void {
    this.x509 = response;
    for (const stream of this.x509Streams) stream.write(response);
  }

  /** Ends every open FetchX509SVID stream with `status`, as an agent does when an identity is taken away. */
  failX509Streams(status: FakeStatus): void {
    for (const stream of this.x509Streams) stream.emit('error', status);
    this.x509Streams.clear();
  }

  callsOf(method: string): RecordedCall[] {
    return this.calls.filter((call) => call.method === method);
  }

  async stop(): Promise<void> {
    // Streams are held open like an agent's, so a graceful shutdown would wait for clients.
    this.server.forceShutdown();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** SPIRE's middleware check: exactly one value, and it is "true". */
  private admit(method: string, call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>): boolean {
    const securityHeader = call.metadata.get(workloadSecurityHeader).map(String);
    this.calls.push({ method, securityHeader, request: call.request });
    return securityHeader.length === 1 && securityHeader[0] === 'true';
  }

  private handlers(): grpc.UntypedServiceImplementation {
    const missingHeader: FakeStatus = { code: grpc.status.INVALID_ARGUMENT, details: 'security header missing from request' };
    const unary = <Req, Res>(method: string, answer: (request: Req) => Answer<Res>) => (call: grpc.ServerUnaryCall<Req, Res>, callback: grpc.sendUnaryData<Res>) => {
      if (!this.admit(method, call)) return callback(missingHeader);
      const result = answer(call.request);
      return isStatus(result) ? callback(result) : callback(null, result);
    };
    const firstThenHold = <Res>(method: string, answer: () => Answer<Res>, streams?: Set<grpc.ServerWritableStream<unknown, Res>>) => (call: grpc.ServerWritableStream<unknown, Res>) => {
      if (!this.admit(method, call)) return call.emit('error', missingHeader);
      const result = answer();
      if (isStatus(result)) return call.emit('error', result);
      call.write(result);
      // Held open like an agent's stream; later states arrive through pushX509.
      streams?.add(call);
      call.on('cancelled', () => streams?.delete(call));
      return undefined;
    };
    return {
      FetchX509SVID: firstThenHold('FetchX509SVID', () => this.x509, this.x509Streams),
      FetchX509Bundles: firstThenHold('FetchX509Bundles', () => this.x509Bundles),
      FetchJWTBundles: firstThenHold('FetchJWTBundles', () => this.jwtBundles),
      FetchJWTSVID: unary('FetchJWTSVID', (request: JwtSvidRequest) => this.jwtSvids(request)),
      ValidateJWTSVID: unary('ValidateJWTSVID', (request: ValidateJwtSvidRequest) => this.validateJwt(request)),
    };
  }
}

/** Values pushed by callbacks, taken in order by the test; `next` fails after `timeoutMs`. */
export class AsyncQueue<T> {
  private readonly items: T[] = [];
  private readonly waiters: Array<(value: T) => void> = [];

  push = (value: T): void => {
    const waiter = this.waiters.shift();
    if (waiter) waiter(value);
    else this.items.push(value);
  };

  get size(): number {
    return this.items.length;
  }

  next(timeoutMs = 5000): Promise<T> {
    const ready = this.items.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(deliver), 1);
        reject(new Error(`nothing arrived within ${timeoutMs} ms`));
      }, timeoutMs);
      const deliver = (value: T) => {
        clearTimeout(timer);
        resolve(value);
      };
      this.waiters.push(deliver);
    });
  }
}
