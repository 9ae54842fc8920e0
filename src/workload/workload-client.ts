/**
 * A SPIFFE Workload API client, the counterpart of go-spiffe's `workloadapi.Client`: plaintext
 * gRPC over the agent's socket (WL-03), the security header on every call (WL-02), and every
 * response checked the way go-spiffe checks it before anything is handed out (spec §2.2, §5.5).
 */
import * as grpc from '@grpc/grpc-js';
import { workloadApiService } from '../common/grpc/protos.js';
import {
  fromProtoStruct,
  workloadSecurityHeader,
  type JwtBundlesResponse,
  type JwtSvidRequest,
  type JwtSvidResponse,
  type ValidateJwtSvidRequest,
  type ValidateJwtSvidResponse,
  type X509BundlesResponse,
  type X509SvidResponse,
} from '../common/grpc/workload-api-types.js';
import { endpointFromEnvironment, parseEndpointSocket } from './endpoint-address.js';
import { parseJwtBundlesResponse, parseJwtSvidResponse, type JwtBundle, type JwtSvid } from './jwt-response.js';
import { LinearBackoff, defaultBackoff, firstResponse, unaryResponse, watchStream, type BackoffSettings } from './grpc-calls.js';
import { parseX509BundlesResponse, parseX509SvidResponse, type X509BundleSet, type X509SvidSet } from './x509-response.js';

export interface WorkloadApiClientOptions {
  /** Reconnect delays of the watches (default: go-spiffe's 1 s steps up to 30 s). */
  backoff?: BackoffSettings;
  /** The time JWT-SVID expiry is checked against (default: the system clock). */
  now?: () => Date;
}

export interface CallOptions {
  /** Fail with DeadlineExceeded when there is no answer in time (default: wait). */
  timeoutMs?: number;
}

export interface ValidatedJwtSvid {
  spiffeId: string;
  claims: Record<string, unknown>;
}

export type WatchErrorHandler = (err: Error, retrying: boolean) => void;

/** The generated methods of the SpiffeWorkloadAPI client, as @grpc/grpc-js makes them. */
interface WorkloadApiStub extends grpc.Client {
  FetchX509SVID(request: object, metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<X509SvidResponse>;
  FetchX509Bundles(request: object, metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<X509BundlesResponse>;
  FetchJWTBundles(request: object, metadata: grpc.Metadata, options: grpc.CallOptions): grpc.ClientReadableStream<JwtBundlesResponse>;
  FetchJWTSVID(request: JwtSvidRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<JwtSvidResponse>): grpc.ClientUnaryCall;
  ValidateJWTSVID(request: ValidateJwtSvidRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<ValidateJwtSvidResponse>): grpc.ClientUnaryCall;
}

export class WorkloadApiClient {
  /** The gRPC target the address resolved to. */
  readonly target: string;
  private readonly stub: WorkloadApiStub;
  private readonly backoff: BackoffSettings;
  private readonly now: () => Date;
  private readonly watches = new Set<() => void>();

  /** `address` is a SPIFFE_ENDPOINT_SOCKET value; a bad one throws EndpointAddressError. */
  constructor(
    readonly address: string,
    options: WorkloadApiClientOptions = {},
  ) {
    this.target = parseEndpointSocket(address).target;
    const Stub = workloadApiService();
    this.stub = new Stub(this.target, grpc.credentials.createInsecure()) as unknown as WorkloadApiStub;
    this.backoff = options.backoff ?? defaultBackoff;
    this.now = options.now ?? (() => new Date());
  }

  /** WL-10: the explicit address if given, else SPIFFE_ENDPOINT_SOCKET. */
  static fromEnvironment(explicit?: string, options: WorkloadApiClientOptions = {}, env: NodeJS.ProcessEnv = process.env): WorkloadApiClient {
    return new WorkloadApiClient(endpointFromEnvironment(explicit, env).address, options);
  }

  async fetchX509Svids(options: CallOptions = {}): Promise<X509SvidSet> {
    return parseX509SvidResponse(await firstResponse(this.stub.FetchX509SVID({}, securityHeader(), callOptions(options))));
  }

  /** Every new X.509 state (full state, WL-21); returns a function that stops the watch. */
  watchX509Svids(onUpdate: (svids: X509SvidSet) => void, onError: WatchErrorHandler): () => void {
    return this.watch(() => this.stub.FetchX509SVID({}, securityHeader(), {}), (response) => onUpdate(parseX509SvidResponse(response)), onError);
  }

  async fetchX509Bundles(options: CallOptions = {}): Promise<X509BundleSet> {
    return parseX509BundlesResponse(await firstResponse(this.stub.FetchX509Bundles({}, securityHeader(), callOptions(options))));
  }

  watchX509Bundles(onUpdate: (bundles: X509BundleSet) => void, onError: WatchErrorHandler): () => void {
    return this.watch(() => this.stub.FetchX509Bundles({}, securityHeader(), {}), (response) => onUpdate(parseX509BundlesResponse(response)), onError);
  }

  /** JWT-SVIDs for `audience`, of every identity or only `spiffeId`'s (WL-32). */
  async fetchJwtSvids(audience: string[], spiffeId?: string, options: CallOptions = {}): Promise<JwtSvid[]> {
    const request: JwtSvidRequest = { audience, spiffe_id: spiffeId ?? '' };
    const response = await unaryResponse<JwtSvidResponse>((callback) => this.stub.FetchJWTSVID(request, securityHeader(), callOptions(options), callback));
    return parseJwtSvidResponse(response, audience, this.now());
  }

  /** Trust domain name to its JWT bundle. */
  async fetchJwtBundles(options: CallOptions = {}): Promise<Map<string, JwtBundle>> {
    return parseJwtBundlesResponse(await firstResponse(this.stub.FetchJWTBundles({}, securityHeader(), callOptions(options))));
  }

  /** The agent's verdict on `token` (WL-34); a rejected token is a WorkloadApiError carrying the agent's reason. */
  async validateJwtSvid(token: string, audience: string, options: CallOptions = {}): Promise<ValidatedJwtSvid> {
    const request: ValidateJwtSvidRequest = { svid: token, audience };
    const response = await unaryResponse<ValidateJwtSvidResponse>((callback) => this.stub.ValidateJWTSVID(request, securityHeader(), callOptions(options), callback));
    return { spiffeId: response.spiffe_id, claims: response.claims ? fromProtoStruct(response.claims) : {} };
  }

  /** Stops every watch and closes the channel. */
  close(): void {
    for (const stop of this.watches) stop();
    this.watches.clear();
    this.stub.close();
  }

  private watch<R>(open: () => grpc.ClientReadableStream<R>, onResponse: (response: R) => void, onError: WatchErrorHandler): () => void {
    const stop = watchStream({ open, onResponse, onError, backoff: new LinearBackoff(this.backoff) });
    const stopAndForget = () => {
      stop();
      this.watches.delete(stopAndForget);
    };
    this.watches.add(stopAndForget);
    return stopAndForget;
  }
}

/** WL-02: `workload.spiffe.io: true` on every call. */
function securityHeader(): grpc.Metadata {
  const metadata = new grpc.Metadata();
  metadata.set(workloadSecurityHeader, 'true');
  return metadata;
}

function callOptions(options: CallOptions): grpc.CallOptions {
  return options.timeoutMs === undefined ? {} : { deadline: Date.now() + options.timeoutMs };
}
