import type { Clock } from '../../common/clock.js';
import { notFound } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { parseCertificateDer } from '../../pki/certificates.js';
import { crlIssuerTemplate, encodeTbsCertList, signCrl, type CrlIssuerTemplate } from '../../pki/crl-der.js';
import type { Authority } from '../../store/authorities.js';
import type { CrlRecord, CrlState } from '../../store/crls.js';
import type { Store } from '../../store/store.js';
import type { KeyManager } from './key-manager.js';
import { RevokedList } from './revoked-list.js';

export const defaultCrlValiditySeconds = 86_400;

/**
 * thisUpdate is backdated like an SVID's notBefore: a relying party whose clock is a few seconds
 * behind would otherwise find the CRL "not yet valid" and, with CRL checking on, reject every
 * certificate of the authority.
 */
export const crlThisUpdateBackdateMs = 10_000;

export interface CrlPublisherSettings {
  /** nextUpdate is this long after signing; a CRL is re-signed once half of it has passed. */
  validitySeconds: number;
}

/**
 * One job per key at a time; a call made while a job waits to start shares that job. A
 * revocation committed while a CRL is being signed therefore always gets a later CRL, and a
 * burst of revocations costs at most two signatures per authority.
 */
class KeyedCoalescer<T> {
  private readonly queues = new Map<string, { tail: Promise<unknown>; waiting?: Promise<T> | undefined }>();

  run(key: string, job: () => Promise<T>): Promise<T> {
    const queue = this.queues.get(key) ?? { tail: Promise.resolve() };
    if (queue.waiting) return queue.waiting;
    const next = queue.tail
      .catch(() => undefined)
      .then(() => {
        queue.waiting = undefined;
        return job();
      });
    queue.tail = next;
    queue.waiting = next;
    this.queues.set(key, queue);
    const forget = () => {
      if (queue.tail === next) this.queues.delete(key);
    };
    next.then(forget, forget);
    return next;
  }
}

/**
 * Signs and serves the CRL of every X.509 authority. A CRL lists the revoked SVIDs of its
 * authority until each has appeared on one CRL issued after it expired (RFC 5280 §3.3), then
 * drops it: its size follows the live revocations, not the history.
 *
 * Each authority's revocations are kept encoded in memory (loaded once, then only what was
 * revoked since, by revocation sequence), and its newest CRL is held in memory; the store keeps
 * only the CRL Number and times (signing again at start is cheaper than writing megabytes to
 * SQLite on every revocation). A new CRL with 100,000 entries costs a copy and a signature on
 * the thread pool.
 */
export class CrlPublisher {
  private readonly settings: CrlPublisherSettings;
  private readonly signing = new KeyedCoalescer<CrlRecord>();
  /** Authorities whose last signing failed: refreshDue retries them whatever their CRL's age. */
  private readonly failed = new Set<string>();
  private readonly revokedLists = new Map<string, RevokedList>();
  private readonly templates = new Map<string, CrlIssuerTemplate>();
  private readonly latestCrls = new Map<string, CrlRecord>();
  /** Revocations up to this sequence number are in the loaded lists. */
  private revocationCursor: number | undefined;

  constructor(
    private readonly store: Store,
    private readonly keys: KeyManager,
    private readonly clock: Clock,
    private readonly log: Logger,
    settings: Partial<CrlPublisherSettings> = {},
  ) {
    this.settings = { validitySeconds: settings.validitySeconds ?? defaultCrlValiditySeconds };
  }

  /**
   * The X.509 authorities that get a CRL at `now`: every one not yet expired. A leaf never
   * outlives its authority, so this covers each authority in the bundle and each one that still
   * has valid certificates.
   */
  authoritiesCovered(now: number = this.clock.now().getTime()): Authority[] {
    return this.store.authorities.list('x509').filter((a) => a.notAfter > now && a.certificateDer);
  }

  /** Sign and store a new CRL for one authority now, and record `crl.published`. */
  publish(authorityId: string): Promise<CrlRecord> {
    return this.signing.run(authorityId, async () => {
      try {
        const record = await this.signAndStore(authorityId);
        this.failed.delete(authorityId);
        return record;
      } catch (err) {
        this.failed.add(authorityId);
        throw err;
      }
    });
  }

  /** Publish a new CRL for every covered authority (at start); failures are logged and skipped. */
  async publishAll(): Promise<CrlRecord[]> {
    return this.publishLogged(this.authoritiesCovered().map((a) => a.id));
  }

  /**
   * Re-sign every CRL that is missing, past half its validity, or whose last signing failed. Never
   * rejects: failures are logged and retried on the next call. The scheduler calls this.
   */
  async refreshDue(now: number = this.clock.now().getTime()): Promise<CrlRecord[]> {
    const halfValidityMs = (this.settings.validitySeconds * 1000) / 2;
    const covered = this.authoritiesCovered(now);
    this.forgetAllBut(new Set(covered.map((a) => a.id)));
    const due = covered.filter((a) => {
      const latest = this.latestCrls.get(a.id);
      return !latest || this.failed.has(a.id) || latest.nextUpdate - now <= halfValidityMs;
    });
    return this.publishLogged(due.map((a) => a.id));
  }

  /** The newest CRL of each covered authority. */
  current(now: number = this.clock.now().getTime()): CrlRecord[] {
    return this.authoritiesCovered(now)
      .map((a) => this.latestCrls.get(a.id))
      .filter((c): c is CrlRecord => c !== undefined);
  }

  /** The newest CRL of one covered authority, or undefined. */
  currentFor(authorityId: string, now: number = this.clock.now().getTime()): CrlRecord | undefined {
    return this.authoritiesCovered(now).some((a) => a.id === authorityId) ? this.latestCrls.get(authorityId) : undefined;
  }

  /** The newest CRL of an authority signed by this process, else what the store kept of the last one. */
  private previous(authorityId: string): CrlState | undefined {
    return this.latestCrls.get(authorityId) ?? this.store.crls.latest(authorityId);
  }

  /** An authority that expired gets no more CRLs: drop what is kept for it (a list may hold megabytes). */
  private forgetAllBut(covered: ReadonlySet<string>): void {
    for (const cache of [this.revokedLists, this.templates, this.latestCrls]) {
      for (const id of cache.keys()) if (!covered.has(id)) cache.delete(id);
    }
  }

  /** Bring every loaded list up to the newest revocation. */
  private catchUpRevocations(): void {
    if (this.revocationCursor === undefined) {
      this.revocationCursor = this.store.revocations.lastRevocationSeq();
      return;
    }
    for (const revocation of this.store.revocations.revokedSince(this.revocationCursor)) {
      this.revokedLists.get(revocation.authorityId)?.add(revocation);
      this.revocationCursor = revocation.revocationSeq;
    }
  }

  /** What the authority's next CRL lists: revocations of certificates still valid after `validAfter`. */
  private revokedListFor(authorityId: string, validAfter: number): RevokedList {
    this.catchUpRevocations();
    let list = this.revokedLists.get(authorityId);
    if (!list) {
      list = new RevokedList();
      for (const revocation of this.store.revocations.revokedSignedBy(authorityId, validAfter)) list.add(revocation);
      this.revokedLists.set(authorityId, list);
    }
    list.dropExpired(validAfter);
    return list;
  }

  private async signingInputs(authority: Authority & { certificateDer: Uint8Array }): Promise<{ template: CrlIssuerTemplate; privateKey: CryptoKey }> {
    const keys = await this.keys.get(authority.id);
    if (!keys) throw new Error(`the private key of X.509 authority ${authority.id} is missing; cannot sign its CRL`);
    let template = this.templates.get(authority.id);
    if (!template) {
      template = await crlIssuerTemplate({ certificate: parseCertificateDer(authority.certificateDer), keys });
      this.templates.set(authority.id, template);
    }
    return { template, privateKey: keys.privateKey };
  }

  /** DER of every current CRL, as the Workload API `crl` field carries them. */
  currentCrlsDer(): Uint8Array[] {
    return this.current().map((c) => c.der);
  }

  private async publishLogged(authorityIds: string[]): Promise<CrlRecord[]> {
    const results = await Promise.allSettled(authorityIds.map((id) => this.publish(id)));
    const published: CrlRecord[] = [];
    results.forEach((result, i) => {
      if (result.status === 'fulfilled') published.push(result.value);
      else this.log.error({ err: result.reason, authorityId: authorityIds[i] }, 'could not publish the CRL of an X.509 authority');
    });
    return published;
  }

  private async signAndStore(authorityId: string): Promise<CrlRecord> {
    const authority = this.store.authorities.get(authorityId);
    if (!authority || authority.kind !== 'x509' || !authority.certificateDer) throw notFound(`no X.509 authority ${authorityId}`);
    const { template, privateKey } = await this.signingInputs({ ...authority, certificateDer: authority.certificateDer });
    const now = this.clock.now().getTime();
    const previous = this.previous(authorityId);
    // An entry stays until one CRL whose thisUpdate is past its expiry has carried it (RFC 5280 §3.3).
    const listedIfValidAfter = previous ? Math.min(previous.thisUpdate, now) : now;
    const revoked = this.revokedListFor(authorityId, listedIfValidAfter);
    const revokedCount = revoked.size;
    const thisUpdate = now - crlThisUpdateBackdateMs;
    const nextUpdate = now + this.settings.validitySeconds * 1000;
    const crlNumber = (previous?.crlNumber ?? 0) + 1;
    const tbs = encodeTbsCertList(template, { crlNumber, thisUpdate: new Date(thisUpdate), nextUpdate: new Date(nextUpdate), revokedCertificatesDer: revoked.der() });
    const der = await signCrl(template, tbs, privateKey);
    const record: CrlRecord = { authorityId, crlNumber, thisUpdate, nextUpdate, revokedCount, der, createdAt: now };
    this.store.transaction(() => {
      this.store.crls.replace({ authorityId, crlNumber, thisUpdate, nextUpdate, revokedCount, createdAt: now });
      this.store.events.append(now, 'crl.published', authorityId, {
        authority_id: authorityId,
        crl_number: crlNumber,
        this_update: new Date(thisUpdate).toISOString(),
        next_update: new Date(nextUpdate).toISOString(),
        revoked_count: revokedCount,
      });
    });
    this.latestCrls.set(authorityId, record);
    return record;
  }
}
