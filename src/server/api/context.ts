import type { Clock } from '../../common/clock.js';
import type { Logger } from '../../common/logger.js';
import type { Store } from '../../store/store.js';
import type { CertificateAuthority } from '../ca/certificate-authority.js';
import type { ServerMetrics } from '../metrics.js';

/** What every admin route needs; built once in the server root. */
export interface ApiContext {
  store: Store;
  ca: CertificateAuthority;
  clock: Clock;
  log: Logger;
  metrics: ServerMetrics;
  trustDomain: string;
  defaults: { x509SvidTtl: number; jwtSvidTtl: number; joinTokenTtl: number };
}
