/**
 * The heart of `sigil api watch`: from the agent's updates to files on disk and a notified
 * consumer. Each update is reduced to what this watcher writes (the chosen SVID, the CRLs, the
 * bundles, the JWT-SVIDs), rendered, hashed, and written as one generation only when the hash
 * changed; the consumer is told only then. Updates that arrive while a write or hook runs are
 * coalesced to the latest (LatestOnly).
 */
import { rfc3339 } from '../api-svid-files.js';
import type { X509SvidSet } from '../../../workload/x509-response.js';
import type { AtomicFileSet } from './atomic-file-set.js';
import { LatestOnly } from './latest-only.js';
import { selectSvid } from './svid-selection.js';
import type { WatchSettings } from './watch-config.js';
import { digestOfFiles, renderFiles, type WatchState } from './watch-files.js';
import type { Readiness } from './watch-health.js';

export interface WatcherDeps {
  /** Where generations go; undefined when no folder is configured (the hash still decides about hooks). */
  files?: AtomicFileSet;
  /** After a generation was made current (`changed`), or found current already at start (not changed). */
  afterWrite(changed: boolean): Promise<void>;
  /** Update lines (stdout, one per new SVID, as before). */
  print(line: string): void;
  /** What it did and problems (stderr). */
  say(line: string): void;
  now?: () => number;
}


export class SvidFileWatcher {
  private x509: Omit<WatchState, 'jwtTokens'> | undefined;
  private readonly jwtTokens = new Map<string, string>();
  private missing: string | undefined;
  private printedSerial: string | undefined;
  private received = 0;
  private applied = 0;
  private written: WatchState | undefined;
  private lastDigest: string | undefined;
  private writeError: string | undefined;
  private notifiedOnce = false;
  private readonly loop: LatestOnly<{ state: WatchState; version: number }>;
  private resolveComplete: () => void = () => undefined;
  /** Resolves once a generation with every configured file (X.509 and JWT) is current. */
  readonly complete: Promise<void>;
  private readonly now: () => number;

  constructor(
    private readonly settings: WatchSettings,
    private readonly deps: WatcherDeps,
  ) {
    this.now = deps.now ?? Date.now;
    this.lastDigest = deps.files?.currentDigest();
    this.complete = new Promise((resolve) => (this.resolveComplete = resolve));
    this.loop = new LatestOnly(
      (job) => this.apply(job.state, job.version),
      (err) => {
        this.writeError = (err as Error).message;
        deps.say(`cannot write the SVID files: ${this.writeError}`);
      },
    );
  }

  onX509(set: X509SvidSet): void {
    const selection = selectSvid(set.svids, this.settings);
    if ('missing' in selection) {
      if (this.missing !== selection.missing) this.deps.say(`waiting: ${selection.missing}`);
      this.missing = selection.missing;
      return;
    }
    this.missing = undefined;
    const { svid } = selection;
    if (svid.serial !== this.printedSerial) {
      const more = set.svids.length > 1 ? ` svids=${set.svids.length}` : '';
      this.deps.print(`update: spiffe_id=${svid.spiffeId} serial=${svid.serial} expires_at=${rfc3339(svid.notAfter)}${more}`);
      this.printedSerial = svid.serial;
    }
    this.x509 = { svid, crls: set.crls, federatedBundles: set.federatedBundles };
    this.schedule();
  }

  onJwt(fileName: string, token: string): void {
    this.jwtTokens.set(fileName, token);
    this.schedule();
  }

  readiness(): Readiness {
    if (this.missing) return { ready: false, reason: this.missing };
    if (!this.written) return { ready: false, reason: 'no SVID written yet' };
    if (this.applied !== this.received) return { ready: false, reason: this.writeError ? `cannot write the latest update: ${this.writeError}` : 'writing the latest update' };
    const { svid } = this.written;
    if (svid.notAfter.getTime() <= this.now()) return { ready: false, reason: `the SVID on disk (serial ${svid.serial}) expired at ${rfc3339(svid.notAfter)}` };
    const jwtMissing = this.settings.jwtSvids.filter((j) => !this.written?.jwtTokens.has(j.fileName)).map((j) => j.fileName);
    if (jwtMissing.length) return { ready: false, reason: `no JWT-SVID yet for ${jwtMissing.join(', ')}` };
    return { ready: true, reason: `current: ${svid.spiffeId} serial ${svid.serial} until ${rfc3339(svid.notAfter)}` };
  }

  /** Resolves when every update received so far has been handled. */
  idle(): Promise<void> {
    return this.loop.idle();
  }

  /** Run nothing more; waits for a write in progress (a hook in progress is the caller's to stop). */
  stop(): Promise<void> {
    return this.loop.stop();
  }

  private schedule(): void {
    if (!this.x509) return;
    this.loop.push({ state: { ...this.x509, jwtTokens: new Map(this.jwtTokens) }, version: ++this.received });
  }

  private async apply(state: WatchState, version: number): Promise<void> {
    const files = renderFiles(this.settings, state);
    const digest = digestOfFiles(files);
    const changed = digest !== this.lastDigest;
    if (changed && this.settings.crlFileName && state.crls.length < state.svid.bundleDer.length) {
      // nginx ssl_crl and HAProxy crl-file want a CRL of every CA in a client's chain.
      this.deps.say(`warning: ${this.settings.crlFileName} holds ${state.crls.length} CRL(s) for ${state.svid.bundleDer.length} CAs in the bundle; a proxy that checks CRLs refuses clients of a CA without one until the server publishes it`);
    }
    if (changed && this.deps.files) {
      const generation = this.deps.files.publish(files, digest);
      this.deps.say(`wrote: ${generation} serial=${state.svid.serial} files=${files.map((f) => f.name).join(',')}`);
    }
    this.lastDigest = digest;
    this.written = state;
    this.applied = version;
    this.writeError = undefined;
    // The first write after start tells the notifier even when the files were current already (it may start the consumer).
    if (changed || !this.notifiedOnce) {
      this.notifiedOnce = true;
      await this.deps.afterWrite(changed);
    }
    this.deps.files?.prune();
    if (this.settings.jwtSvids.every((j) => state.jwtTokens.has(j.fileName))) this.resolveComplete();
  }
}
