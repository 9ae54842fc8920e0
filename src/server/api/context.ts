import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Store } from '../../store/store.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { CrlPublisher } from '../ca/crl-publisher.js';
import type { RevocationService } from '../lifecycle/revocation.js';
import type { WebhookDispatcher } from '../webhooks/dispatcher.js';
import type { ServerMetrics } from '../metrics.js';

/** What every admin route needs; built once in the server root. */
export interface ApiContext {
  store: Store;
  ca: CertificateAuthority;
  clock: Clock;
  log: Logger;
  metrics: ServerMetrics;
  crls: CrlPublisher;
  revocations: RevocationService;
  webhooks: WebhookDispatcher;
  trustDomain: string;
  defaults: { x509SvidTtl: number; jwtSvidTtl: number; joinTokenTtl: number };
}
