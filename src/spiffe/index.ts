/** The pure SPIFFE core: IDs, X509-SVID profile checks, bundles, JWT-SVID claim checks. */
export {
  MAX_SPIFFE_ID_BYTES,
  MAX_TRUST_DOMAIN_BYTES,
  SpiffeId,
  SpiffeIdError,
  checkMintable,
  parseSpiffeId,
  parseTrustDomain,
  spiffeIdFromParts,
  spiffeIdFromSegments,
  trustDomainId,
  validatePath,
  validatePathSegment,
  validateTrustDomainName,
} from './id.js';

export {
  SvidProfileError,
  checkSigningCertificate,
  checkX509SvidChain,
  checkX509SvidLeaf,
  spiffeIdOfCertificate,
  type ChainCheckOptions,
  type DerInput,
  type LeafCheckOptions,
  type SigningCertificateCheckOptions,
} from './x509-svid-profile.js';

export {
  BundleError,
  encodeBundleMap,
  encodeJwtBundleJwks,
  encodeSpiffeBundle,
  parseBundleMap,
  parseSpiffeBundle,
  type Jwk,
  type JwtAuthority,
  type SpiffeBundle,
  type SpiffeBundleInput,
} from './bundle.js';

export {
  DEFAULT_LEEWAY_SECONDS,
  JWT_SVID_ALGORITHMS,
  JwtSvidError,
  checkJwtSvidClaims,
  checkJwtSvidHeader,
  type JwtSvidAlgorithm,
  type JwtSvidClaims,
  type JwtSvidClaimsCheckOptions,
  type JwtSvidHeader,
} from './jwt-svid-claims.js';
