import type { Clock } from '../../common/clock.js';
import { conflict, failedPrecondition, notFound } from '../../common/errors.js';
import type { Logger } from '../../common/logger.js';
import { encodeSpiffeBundle, type JwtAuthority } from '../../spiffe/bundle.js';
import type { Authority, AuthorityKind } from '../../store/authorities.js';
import type { Store } from '../../store/store.js';
import type { AuthorityFactory, NewAuthorityFields } from './authority-factory.js';
import type { KeyManager } from './key-manager.js';
import { rotationStep } from './rotation-policy.js';
import type { UpstreamCa } from './upstream.js';

/** Default bundle refresh hint, as SPIRE's bundle endpoint (5 minutes). */
export const bundleRefreshHintSeconds = 300;
export const authorityKinds: readonly AuthorityKind[] = ['x509', 'jwt'];

const iso = (ms: number) => new Date(ms).toISOString();
/** How many blocking SVIDs a refused authority revocation names; the count covers the rest. */
const blockersNamedMax = 3;

/**
 * The prepared → active → old slots of the X.509 and JWT authorities (lessons-from-peers rows
 * 1–2): scheduled rotation, the manual prepare/activate/taint/revoke of an operator, and the
 * trust bundle they make. Every change bumps the bundle sequence and writes an event in the same
 * transaction. Changes are serialized: the scheduler and an operator never race.
 */
export class AuthorityManager {
  private encodedBundle: { key: string; json: string } | undefined;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Store,
    private readonly factory: AuthorityFactory,
    private readonly keys: KeyManager,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly options: { trustDomain: string; bundleGraceMs: number; upstream?: UpstreamCa | undefined },
  ) {}

  private serialized<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private now(): number {
    return this.clock.now().getTime();
  }

  /** Apply the rotation policy to both kinds and drop expired authorities from the bundle. */
  rotate(): Promise<void> {
    return this.serialized(async () => {
      for (const kind of authorityKinds) await this.rotateKind(kind);
      this.syncBundleMembership();
    });
  }

  /** Before signing: an expired or missing active authority is replaced at once. */
  async ensureUsable(kind: AuthorityKind): Promise<Authority> {
    const active = this.store.authorities.active(kind);
    if (active && active.notAfter > this.now() && (await this.keys.get(active.id))) return active;
    await this.serialized(() => this.rotateKind(kind));
    const now = this.store.authorities.active(kind);
    if (!now) throw new Error(`no active ${kind} authority`);
    return now;
  }

  private async rotateKind(kind: AuthorityKind): Promise<void> {
    const now = this.now();
    const active = this.store.authorities.active(kind);
    if (active && !(await this.keys.get(active.id))) {
      throw new Error(`the private key of the active ${kind} authority ${active.id} is missing from the key store; refusing to continue`);
    }
    const step = rotationStep(active, this.store.authorities.prepared(kind), now);
    if (step === 'prepare') await this.prepareNow(kind);
    if (step === 'activate') this.activateNow(kind, undefined);
    if (step === 'create-active') {
      await this.prepareNow(kind);
      this.activateNow(kind, undefined);
    }
  }

  private async prepareNow(kind: AuthorityKind): Promise<Authority> {
    const fields: NewAuthorityFields = await this.factory.create(kind, this.now());
    const now = this.now();
    const authority = this.store.transaction(() => {
      const inserted = this.store.authorities.insert({ ...fields, state: 'prepared' });
      this.bumpBundleSequence();
      this.event(now, 'authority.prepared', inserted, 'nothing yet: the new authority is in the trust bundle and will sign once activated');
      return inserted;
    });
    this.log.info({ kind, authorityId: authority.id, notAfter: iso(authority.notAfter) }, 'prepared a new signing authority');
    return authority;
  }

  private activateNow(kind: AuthorityKind, id: string | undefined): Authority {
    const prepared = id ? this.store.authorities.get(id) : this.store.authorities.prepared(kind);
    if (!prepared || prepared.kind !== kind) throw notFound(id ? `${kind} authority ${id} not found` : `no prepared ${kind} authority: prepare one first`);
    if (prepared.state !== 'prepared') throw conflict(`${kind} authority ${prepared.id} is ${prepared.state}; only a prepared authority can be activated`);
    const now = this.now();
    const activated = this.store.transaction(() => {
      const a = this.store.authorities.activate(prepared.id, now);
      this.bumpBundleSequence();
      this.event(now, 'authority.activated', a, 'nothing: new SVIDs are signed by this authority; the previous one stays in the bundle until it expires');
      return a;
    });
    this.log.info({ kind, authorityId: activated.id }, 'activated a signing authority');
    return activated;
  }

  // --- operator actions (REST, CLI) ---

  prepare(kind: AuthorityKind): Promise<Authority> {
    return this.serialized(async () => {
      const existing = this.store.authorities.prepared(kind);
      if (existing) throw conflict(`a prepared ${kind} authority exists already (${existing.id}); activate it first`);
      return this.prepareNow(kind);
    });
  }

  activate(kind: AuthorityKind, id?: string): Promise<Authority> {
    return this.serialized(async () => this.activateNow(kind, id));
  }

  /** Taint: every SVID signed by this authority is re-issued by the agents at once. */
  taint(kind: AuthorityKind, id: string): Promise<Authority> {
    return this.serialized(async () => {
      const a = this.getOfKind(kind, id);
      if (a.state === 'active') throw conflict(`${kind} authority ${id} is active; activate another one before tainting it`);
      if (a.revokedAt !== null) throw conflict(`${kind} authority ${id} is revoked`);
      if (a.taintedAt !== null) throw conflict(`${kind} authority ${id} is tainted already`);
      const now = this.now();
      return this.store.transaction(() => {
        const tainted = this.store.authorities.taint(id, now);
        this.event(now, 'authority.tainted', tainted, 'agents re-issue every SVID this authority signed now; revoke it once none is left');
        return tainted;
      });
    });
  }

  /** Revoke (after taint, never the active one): it leaves the bundle; refused while valid SVIDs from it remain. */
  revoke(kind: AuthorityKind, id: string): Promise<Authority> {
    return this.serialized(async () => {
      const a = this.getOfKind(kind, id);
      if (a.state === 'active') throw conflict(`${kind} authority ${id} is active and cannot be revoked`);
      if (a.revokedAt !== null) throw conflict(`${kind} authority ${id} is revoked already`);
      if (a.taintedAt === null) throw failedPrecondition(`${kind} authority ${id} must be tainted before it is revoked`);
      const now = this.now();
      if (kind === 'x509') this.refuseWhileUnreplaced(id, now);
      return this.store.transaction(() => {
        const revoked = this.store.authorities.revoke(id, now);
        this.bumpBundleSequence();
        this.event(now, 'authority.revoked', revoked, 'nothing: the authority has left the trust bundle; verifiers stop trusting it at their next bundle update');
        return revoked;
      });
    });
  }

  /** Names the SVIDs that keep an X.509 authority from being revoked, and the way out. */
  private refuseWhileUnreplaced(id: string, now: number): void {
    const { count, sample } = this.store.svidLifecycle.unreplacedSignedBy(id, now, blockersNamedMax);
    if (count === 0) return;
    const named = sample.map((s) => `${s.serial} (${s.spiffeId}, ${s.kind})`).join(', ');
    const more = count > sample.length ? ` and ${count - sample.length} more` : '';
    throw conflict(
      `${count} valid ${count === 1 ? 'SVID' : 'SVIDs'} signed by x509 authority ${id} not replaced yet: ${named}${more}. ` +
        `Agents replace theirs soon after a taint; minted ones are never replaced. Revoke them (sigil svid revoke --authority-id ${id}, ` +
        `or POST /v1/svids/revoke {"authority_id"}) or wait until they expire`,
    );
  }

  private getOfKind(kind: AuthorityKind, id: string): Authority {
    const a = this.store.authorities.get(id);
    if (!a || a.kind !== kind) throw notFound(`${kind} authority ${id} not found`);
    return a;
  }

  private event(now: number, type: string, a: Authority, action: string): void {
    this.store.events.append(now, type, a.id, {
      kind: a.kind,
      authority_id: a.id,
      state: a.state,
      not_before: iso(a.notBefore),
      not_after: iso(a.notAfter),
      tainted: a.taintedAt !== null,
      action,
    });
  }

  // --- the trust bundle ---

  private bumpBundleSequence(): void {
    const current = BigInt(this.store.settings.get('bundle_sequence') ?? '0');
    this.store.settings.set('bundle_sequence', (current + 1n).toString());
  }

  bundleSequence(): bigint {
    return BigInt(this.store.settings.get('bundle_sequence') ?? '0');
  }

  private published(kind: AuthorityKind, now = this.now()): Authority[] {
    return this.store.authorities.published(kind, now, this.options.bundleGraceMs);
  }

  /** An old authority expires out of the bundle without anyone acting: notice it, bump, tell. */
  private syncBundleMembership(): void {
    const now = this.now();
    const members = authorityKinds.flatMap((k) => this.published(k, now).map((a) => a.id)).sort();
    const previous = this.store.settings.get('bundle_members');
    const key = members.join(',');
    if (previous === key) return;
    const gone = (previous ? previous.split(',') : []).filter((id) => id && !members.includes(id));
    this.store.transaction(() => {
      this.store.settings.set('bundle_members', key);
      if (previous === undefined) return;
      this.bumpBundleSequence();
      for (const id of gone) {
        const a = this.store.authorities.get(id);
        if (a && a.revokedAt === null) this.event(now, 'authority.expired', a, 'nothing: the expired authority has left the trust bundle');
      }
    });
  }

  x509BundleDer(now = this.now()): Uint8Array[] {
    const seen = new Set<string>();
    const roots: Uint8Array[] = [];
    const add = (der: Uint8Array) => {
      const key = Buffer.from(der).toString('base64');
      if (!seen.has(key)) {
        seen.add(key);
        roots.push(der);
      }
    };
    for (const a of this.published('x509', now)) if (a.bundleCertDer) add(a.bundleCertDer);
    for (const der of this.options.upstream?.rootsDer ?? []) add(der);
    return roots;
  }

  jwtBundleKeys(now = this.now()): JwtAuthority[] {
    return this.published('jwt', now)
      .filter((a) => a.publicKeyJwk)
      .map((a) => ({ kid: a.id, publicKeyJwk: a.publicKeyJwk as JwtAuthority['publicKeyJwk'] }));
  }

  /**
   * The SPIFFE bundle document. Encoding it reads every certificate again, so it is kept until
   * the bundle changes: its sequence, its members (which may change with time alone) or the hint.
   */
  spiffeBundleJson(refreshHintSeconds = bundleRefreshHintSeconds): string {
    const x509Authorities = this.x509BundleDer();
    const jwtAuthorities = this.jwtBundleKeys();
    const sequence = this.bundleSequence();
    const key = [sequence, refreshHintSeconds, ...x509Authorities.map((d) => Buffer.from(d.subarray(-16)).toString('hex')), ...jwtAuthorities.map((a) => a.kid)].join('|');
    if (this.encodedBundle?.key !== key) this.encodedBundle = { key, json: encodeSpiffeBundle({ x509Authorities, jwtAuthorities, sequence, refreshHintSeconds }) };
    return this.encodedBundle.json;
  }

  /** Signing certificates of tainted X.509 authorities not yet revoked: agents re-issue what they signed. */
  taintedX509CertificatesDer(): Uint8Array[] {
    return this.store.authorities
      .list('x509')
      .filter((a) => a.taintedAt !== null && a.revokedAt === null && a.certificateDer)
      .map((a) => a.certificateDer as Uint8Array);
  }

  taintedJwtKids(): string[] {
    return this.store.authorities
      .list('jwt')
      .filter((a) => a.taintedAt !== null && a.revokedAt === null)
      .map((a) => a.id);
  }
}
