/**
 * The current X509-SVID of one identity, its trust bundles and the CRLs, kept fresh from a
 * Workload API watch: go-spiffe's `workloadapi.X509Source`, plus a choice of identity (by hint or
 * SPIFFE ID) and the revocation list. When the agent takes the identity away (PermissionDenied,
 * or a new state without the chosen SVID) the source has no SVID, at once, and says why; while
 * the agent is merely unreachable it keeps the SVID it has, until that expires.
 */
import { createHash } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import { WorkloadApiError } from '../errors.js';
import { bundlesForSvid, type X509Bundles } from '../tls-identity.js';
import type { WorkloadApiClient } from '../workload-client.js';
import type { X509Svid, X509SvidSet } from '../x509-response.js';
import { RevocationList } from './revocation-list.js';
import { chooseSvid, describeChoice, describeOffer, type SvidChoice } from './svid-choice.js';

export type X509SourceEvent =
  /** A first SVID, or a rotated one. */
  | { kind: 'svid'; svid: X509Svid; previous: X509Svid | undefined }
  /** The trust bundles changed under the same SVID (a CA was prepared or retired). */
  | { kind: 'bundles'; bundles: X509Bundles }
  | { kind: 'lost'; reason: string; previous: X509Svid }
  | { kind: 'crls'; revocations: RevocationList }
  /** A watch error; the watch reconnects unless `retrying` is false. */
  | { kind: 'error'; error: Error; retrying: boolean };

export type X509SourceListener = (event: X509SourceEvent) => void;

export interface X509SourceOptions {
  /** Which SVID of the response to use (default: the first, as go-spiffe does). */
  choose?: SvidChoice;
  now?: () => Date;
}

export interface OpenX509SourceOptions extends X509SourceOptions {
  /** Fail when no chosen SVID has come within this time (default 30 s). */
  timeoutMs?: number;
}

type WatchingClient = Pick<WorkloadApiClient, 'watchX509Svids'>;

const fingerprint = (ders: Iterable<Uint8Array>): string => {
  const hash = createHash('sha256');
  for (const der of ders) hash.update(der).update('|');
  return hash.digest('hex');
};
const bundlesFingerprint = (bundles: X509Bundles): string => fingerprint([...bundles.entries()].flatMap(([td, ders]) => [Buffer.from(td), ...ders]));

export class X509Source {
  private current: X509Svid | undefined;
  private missingReason: string | undefined = 'no SVID has arrived from the Workload API yet';
  private currentBundles: X509Bundles = new Map();
  private currentRevocations = RevocationList.empty;
  private crlInputs = '';
  private changes = 0;
  private readonly listeners = new Set<X509SourceListener>();
  private stopWatch: (() => void) | undefined;
  private readonly now: () => Date;

  constructor(
    private readonly client: WatchingClient,
    private readonly options: X509SourceOptions = {},
  ) {
    this.now = options.now ?? (() => new Date());
  }

  /** A started source that already holds the chosen SVID. */
  static async open(client: WatchingClient, options: OpenX509SourceOptions = {}): Promise<X509Source> {
    const source = new X509Source(client, options);
    const timeoutMs = options.timeoutMs ?? 30_000;
    let unsubscribe = () => {};
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        unsubscribe = source.subscribe((event) => {
          if (event.kind === 'svid') resolve();
          if (event.kind === 'error' && !event.retrying) reject(event.error);
        });
        timer = setTimeout(() => reject(new Error(`no X509-SVID with ${describeChoice(options.choose)} within ${timeoutMs} ms: ${source.unavailableReason ?? ''}`)), timeoutMs);
        source.start();
      });
    } catch (err) {
      source.close();
      throw err;
    } finally {
      clearTimeout(timer);
      unsubscribe();
    }
    return source;
  }

  start(): void {
    this.stopWatch ??= this.client.watchX509Svids(
      (set) => this.update(set),
      (error, retrying) => this.failed(error, retrying),
    );
  }

  /** The chosen SVID while it is valid; undefined once it is taken away or has expired. */
  get svid(): X509Svid | undefined {
    if (this.current && this.current.notAfter.getTime() <= this.now().getTime()) return undefined;
    return this.current;
  }

  /** Why there is no SVID now, or undefined when there is one. */
  get unavailableReason(): string | undefined {
    if (this.current && this.current.notAfter.getTime() <= this.now().getTime()) {
      return `the SVID ${this.current.serial} expired at ${this.current.notAfter.toISOString()} and no successor came`;
    }
    return this.current ? undefined : this.missingReason;
  }

  /** Trust domain name to CA certificates: the SVID's own trust domain and the federated ones. */
  get bundles(): X509Bundles {
    return this.currentBundles;
  }

  get revocations(): RevocationList {
    return this.currentRevocations;
  }

  isRevoked(certDer: Uint8Array): boolean {
    return this.currentRevocations.isRevoked(certDer);
  }

  /** Grows whenever the SVID or the bundles change: what a TLS context built from them is keyed by. */
  get generation(): number {
    return this.changes;
  }

  /** Returns a function that unsubscribes. */
  subscribe(listener: X509SourceListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
    this.listeners.clear();
  }

  private update(set: X509SvidSet): void {
    const chosen = chooseSvid(set.svids, this.options.choose);
    const bundles = chosen ? bundlesForSvid(chosen, set.federatedBundles) : this.currentBundles;
    this.updateRevocations(set, bundles);
    if (!chosen) {
      this.lose(`the Workload API sends no SVID with ${describeChoice(this.options.choose)} (it sends ${describeOffer(set.svids)})`);
      return;
    }
    const bundlesChanged = bundlesFingerprint(bundles) !== bundlesFingerprint(this.currentBundles);
    this.currentBundles = bundles;
    const previous = this.current;
    if (previous?.serial !== chosen.serial) {
      this.current = chosen;
      this.missingReason = undefined;
      this.changes += 1;
      this.emit({ kind: 'svid', svid: chosen, previous });
    } else if (bundlesChanged) {
      this.changes += 1;
      this.emit({ kind: 'bundles', bundles });
    }
  }

  private updateRevocations(set: X509SvidSet, bundles: X509Bundles): void {
    const issuers = [...[...bundles.values()].flat(), ...set.svids.flatMap((svid) => svid.chainDer.slice(1))];
    const inputs = `${fingerprint(set.crls)}/${fingerprint(issuers)}`;
    if (inputs === this.crlInputs) return;
    this.crlInputs = inputs;
    this.currentRevocations = RevocationList.fromCrls(set.crls, issuers);
    this.emit({ kind: 'crls', revocations: this.currentRevocations });
  }

  private failed(error: Error, retrying: boolean): void {
    this.emit({ kind: 'error', error, retrying });
    if (error instanceof WorkloadApiError && error.code === status.PERMISSION_DENIED) this.lose(`the agent gives this process no identity (${error.message})`);
    else if (!retrying) this.lose(`the Workload API watch ended: ${error.message}`);
  }

  private lose(reason: string): void {
    const previous = this.current;
    this.missingReason = reason;
    if (!previous) return;
    this.current = undefined;
    this.changes += 1;
    this.emit({ kind: 'lost', reason, previous });
  }

  private emit(event: X509SourceEvent): void {
    for (const listener of [...this.listeners]) listener(event);
  }
}
