import { EventEmitter } from 'node:events';
import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { readCertificateStructure } from '../../pki/certificate-der.js';
import { readCertificateFactsDer } from '../../pki/certificate-facts-der.js';
import { createCsr } from '../../pki/csr.js';
import { exportPrivateKeyPkcs8, generateKeyPair } from '../../pki/keys.js';
import type { AgentNode } from '../node/agent-node.js';
import type { AgentTrustState } from '../sync/trust-state.js';
import type { AgentEntry, EntryCache } from '../sync/entry-cache.js';
import { retryAfterMsOf } from '../../common/grpc/retry-after.js';
import { grpcErrorText } from '../../common/grpc/status-details.js';

const nameBytes = (der: Uint8Array, node: { start: number; end: number }) => Buffer.from(der.buffer, der.byteOffset + node.start, node.end - node.start);
/**
 * An SVID's issuer is told by name: every Sigil authority's subject carries a serial number of its
 * own, and leaves copy it byte for byte. (The SVID came from the server over mutual TLS; a wrong
 * match would only rotate an SVID early.) Checking each leaf's signature against each tainted
 * authority cost ~160 µs per held SVID on every trust change.
 */
const issuerNameOf = (leafDer: Uint8Array) => nameBytes(leafDer, readCertificateStructure(leafDer).issuer);
const subjectNameOf = (caDer: Uint8Array) => nameBytes(caDer, readCertificateStructure(caDer).subject);

export interface CachedSvid {
  entryId: string;
  spiffeId: string;
  hint: string;
  revision: number;
  serial: string;
  /** DER, leaf first. */
  chainDer: Uint8Array[];
  privateKeyPkcs8: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  /** When a successor is fetched: before half-life, with jitter so SVIDs do not all rotate together. */
  rotateAt: number;
  /** When the agent received it (agent clock, ms). */
  receivedAt: number;
}

export const maxCsrsPerCall = 500;
const retryBaseMs = 500;
const retryMaxMs = 10_000;

/**
 * Rotate between 40 % and 45 % of the lifetime, with jitter so SVIDs do not all rotate together
 * (SPIRE: half ± 10 %). Ending at 45 % leaves time to sign, so no SVID is served past half-life.
 */
export function rotationTime(notBefore: number, notAfter: number, random: () => number = Math.random): number {
  return notBefore + (notAfter - notBefore) * (0.4 + 0.05 * random());
}

/**
 * Workload SVIDs for every entry the agent holds. Keys are made here and never leave the node;
 * the server sees only CSRs. Emits 'updated' with the entry ids whose SVID changed or went away.
 */
export class SvidCache extends EventEmitter {
  private readonly svids = new Map<string, CachedSvid>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private failures = 0;
  /** The server's hint after a refusal for overload: when trying again is worth it. */
  private retryAfterMs: number | undefined;
  private stopped = false;
  /** Entries left without an SVID because there are more than max_svids (the newest ones). */
  private overLimit: ReadonlySet<string> = new Set();

  constructor(
    private readonly entries: EntryCache,
    private readonly node: AgentNode,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly maxSvids: number,
  ) {
    super();
    // One listener per endpoint service with open streams (identity views) and per socket: a few more than 10 is normal.
    this.setMaxListeners(0);
  }

  /**
   * Revoked SVIDs are dropped at once (never served again) and replaced; SVIDs signed by a
   * tainted authority are replaced at once and served until then. When a CRL cannot be read,
   * every SVID received before it might be on it: those are dropped and replaced too.
   */
  applyTrustState(state: AgentTrustState): void {
    const tainted = state.taintedX509AuthoritiesDer.map(subjectNameOf);
    const dropped: string[] = [];
    const suspectBefore = state.replaceSvidsReceivedBefore ?? Number.NEGATIVE_INFINITY;
    let due = false;
    for (const svid of this.svids.values()) {
      if (state.revokedSerials.has(svid.serial) || svid.receivedAt < suspectBefore) {
        this.svids.delete(svid.entryId);
        dropped.push(svid.entryId);
        continue;
      }
      if (tainted.length && svid.rotateAt > 0) {
        const issuer = issuerNameOf(svid.chainDer[0] as Uint8Array);
        if (tainted.some((subject) => subject.equals(issuer))) {
          svid.rotateAt = 0;
          due = true;
        }
      }
    }
    if (dropped.length) {
      this.log.info({ entries: dropped.length }, state.replaceSvidsReceivedBefore === undefined ? 'dropped revoked SVIDs; fetching replacements' : 'dropped every SVID that an unreadable CRL may revoke; fetching replacements');
      this.emit('updated', dropped);
    }
    if (dropped.length || due) void this.refresh();
  }

  /** Take SVIDs kept from an earlier run (before the first refresh); they rotate when due like any other. */
  restore(svids: readonly CachedSvid[]): void {
    for (const svid of svids) this.svids.set(svid.entryId, svid);
  }

  get(entryId: string): CachedSvid | undefined {
    return this.svids.get(entryId);
  }

  all(): CachedSvid[] {
    return [...this.svids.values()];
  }

  get size(): number {
    return this.svids.size;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
  }

  /** Forget every SVID (a banned agent must stop serving). */
  clear(): void {
    const ids = [...this.svids.keys()];
    this.svids.clear();
    if (ids.length) this.emit('updated', ids);
  }

  /** Bring the cache up to date now (coalesces concurrent calls). */
  refresh(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      try {
        do {
          this.again = false;
          await this.refreshOnce();
        } while (this.again && !this.stopped);
      } finally {
        this.running = undefined;
        this.schedule();
      }
    })();
    return this.running;
  }

  /** How many entries get no SVID because of max_svids. */
  get entriesWithoutSvid(): number {
    return this.overLimit.size;
  }

  /** True when the entry gets no SVID because the agent already holds max_svids. */
  isOverLimit(entryId: string): boolean {
    return this.overLimit.has(entryId);
  }

  get limit(): number {
    return this.maxSvids;
  }

  private due(now: number): AgentEntry[] {
    let wanted = this.entries.all().sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1));
    const overLimit = new Set(wanted.slice(this.maxSvids).map((e) => e.id));
    if (overLimit.size !== this.overLimit.size || [...overLimit].some((id) => !this.overLimit.has(id))) {
      if (overLimit.size) this.log.error({ entries: wanted.length, max_svids: this.maxSvids, without_svid: overLimit.size }, 'more entries than max_svids: the newest entries get no SVID (raise max_svids)');
      else if (this.overLimit.size) this.log.info({ entries: wanted.length, max_svids: this.maxSvids }, 'every entry fits within max_svids again');
      this.overLimit = overLimit;
      for (const id of overLimit) this.svids.delete(id);
      this.emit('limit', overLimit.size);
      this.emit('updated', [...overLimit]);
    }
    wanted = wanted.slice(0, this.maxSvids);
    return wanted.filter((e) => {
      const svid = this.svids.get(e.id);
      return !svid || svid.revision !== e.revision || now >= svid.rotateAt;
    });
  }

  private async refreshOnce(): Promise<void> {
    const removed = [...this.svids.keys()].filter((id) => !this.entries.get(id));
    for (const id of removed) this.svids.delete(id);
    if (removed.length) this.emit('updated', removed);
    const due = this.due(this.clock.now().getTime());
    // Two calls in flight: the next batch's keys and CSRs are made while the server signs this one.
    let next = 0;
    const issueBatches = async () => {
      while (next < due.length && !this.stopped) {
        const batch = due.slice(next, next + maxCsrsPerCall);
        next += maxCsrsPerCall;
        await this.issue(batch);
      }
    };
    await Promise.all([issueBatches(), issueBatches()]);
  }

  private async issue(batch: AgentEntry[]): Promise<void> {
    const prepared = await Promise.all(
      batch.map(async (entry) => {
        const keys = await generateKeyPair('ec-p256');
        return { entry, keys, csr: await createCsr(keys) };
      }),
    );
    let results;
    try {
      const client = await this.node.serverClient();
      results = (await client.signX509Svids({ requests: prepared.map((p) => ({ entry_id: p.entry.id, csr: Buffer.from(p.csr) })) })).results;
      this.failures = 0;
      this.retryAfterMs = undefined;
    } catch (err) {
      this.failures++;
      // A busy server says when it will have room; without that, back off exponentially.
      this.retryAfterMs = Math.max(this.retryAfterMs ?? 0, retryAfterMsOf(err) ?? 0) || undefined;
      // Keep serving what we hold; the server may be down for a while.
      this.log.warn({ err: grpcErrorText(err), entries: batch.length }, 'cannot get SVIDs from the server; serving cached ones and retrying');
      return;
    }
    const updated: string[] = [];
    const preparedByEntry = new Map(prepared.map((p) => [p.entry.id, p]));
    for (const result of results) {
      const p = preparedByEntry.get(result.entry_id);
      if (!p) continue;
      if (result.error || result.svid_chain.length === 0) {
        this.log.warn({ entryId: result.entry_id, error: result.error }, 'the server refused an SVID');
        continue;
      }
      const chainDer = result.svid_chain.map((b) => new Uint8Array(b));
      const { notBefore, notAfter } = readCertificateFactsDer(chainDer[0] as Uint8Array);
      // Entry may have changed while we were signing; its current revision decides the next refresh.
      this.svids.set(p.entry.id, {
        entryId: p.entry.id,
        spiffeId: p.entry.spiffeId,
        hint: p.entry.hint,
        revision: p.entry.revision,
        serial: result.serial,
        chainDer,
        privateKeyPkcs8: await exportPrivateKeyPkcs8(p.keys.privateKey),
        notBefore,
        notAfter,
        rotateAt: rotationTime(notBefore.getTime(), notAfter.getTime()),
        receivedAt: this.clock.now().getTime(),
      });
      updated.push(p.entry.id);
    }
    if (updated.length) this.emit('updated', updated);
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const now = this.clock.now().getTime();
    let delay: number;
    if (this.failures > 0) {
      // Jittered: after a CA taint every agent retries, and a busy server refuses batches until it has room.
      delay =
        this.retryAfterMs !== undefined
          ? Math.min(retryMaxMs, this.retryAfterMs) * (1 + Math.random() / 2)
          : Math.min(retryMaxMs, retryBaseMs * 2 ** (this.failures - 1)) * (0.5 + Math.random() / 2);
      this.retryAfterMs = undefined;
    } else {
      let next = now + 60_000;
      for (const s of this.svids.values()) next = Math.min(next, s.rotateAt);
      delay = Math.max(50, next - now);
    }
    this.timer = setTimeout(() => void this.refresh(), delay);
    this.timer.unref();
  }
}
