import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import { serverIdPath } from '../../common/grpc/agent-api-types.js';
import { exportPrivateKeyPem, generateKeyPair } from '../../pki/keys.js';
import { pemEncodeAll } from '../../pki/pem.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';

export interface ServerTlsIdentity {
  keyPem: string;
  chainPem: string;
  notAfter: Date;
}

/**
 * The server's own X509-SVID (spiffe://<td>/sigil/server), which agents check when they connect.
 * Its key lives only in memory; a fresh SVID is signed at half-life and handed to `onRenew`.
 */
export class ServerSvid {
  private timer: NodeJS.Timeout | undefined;
  current: ServerTlsIdentity | undefined;

  constructor(
    private readonly ca: CertificateAuthority,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly ttlSeconds: number,
    private readonly onRenew: (identity: ServerTlsIdentity) => void,
  ) {}

  get spiffeId(): string {
    return `spiffe://${this.ca.trustDomain}${serverIdPath}`;
  }

  async start(): Promise<ServerTlsIdentity> {
    const identity = await this.issue();
    this.schedule(identity);
    return identity;
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Re-issue now (its signing authority was tainted). */
  renewNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.issue()
      .then((next) => {
        this.onRenew(next);
        this.schedule(next);
      })
      .catch((err: unknown) => {
        this.log.error({ err }, 'server SVID re-issue failed; retrying at the usual time');
        if (this.current) this.schedule(this.current);
      });
  }

  private async issue(): Promise<ServerTlsIdentity> {
    const keys = await generateKeyPair('ec-p256');
    const svid = await this.ca.issueX509Svid({ spiffeId: this.spiffeId, dnsNames: ['localhost'], ttlSeconds: this.ttlSeconds, subjectPublicKey: keys.publicKey, kind: 'server' });
    const identity = { keyPem: await exportPrivateKeyPem(keys.privateKey), chainPem: pemEncodeAll('CERTIFICATE', svid.chainDer), notAfter: svid.notAfter };
    this.current = identity;
    return identity;
  }

  private schedule(identity: ServerTlsIdentity): void {
    const half = Math.max(1000, (identity.notAfter.getTime() - this.clock.now().getTime()) / 2);
    this.timer = setTimeout(() => {
      this.issue()
        .then((next) => {
          this.onRenew(next);
          this.schedule(next);
        })
        .catch((err: unknown) => {
          this.log.error({ err }, 'server SVID renewal failed; retrying in 10s');
          this.timer = setTimeout(() => this.schedule(identity), 10_000);
        });
    }, half);
    this.timer.unref();
  }
}
