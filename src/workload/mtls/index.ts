/** SPIFFE mTLS for Node's tls and https, fed by the Workload API (go-spiffe's `spiffetls` and `X509Source`). */
export { PeerRevokedError, authorizePeer } from './peer-authorization.js';
export { RevocationList, type Revocation } from './revocation-list.js';
export { spiffeClientTlsOptions, type SpiffeConnectionOptions, type SpiffeTlsClientOptions } from './spiffe-tls-client.js';
export { NoSvidError, SpiffeTlsContext } from './spiffe-tls-context.js';
export { SpiffeTlsServer, createSpiffeHttpsServer, spiffeServerTlsOptions, type PeerRejection, type SpiffeRequestListener, type SpiffeTlsServerOptions } from './spiffe-tls-server.js';
export { chooseSvid, describeChoice, type SvidChoice } from './svid-choice.js';
export { X509Source, type OpenX509SourceOptions, type X509SourceEvent, type X509SourceListener, type X509SourceOptions } from './x509-source.js';
