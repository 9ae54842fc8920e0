/**
 * SPIFFE bundles (Trust Domain and Bundle §4, §5) and plain JWT JWKS (JWT-SVID §6.1).
 *
 * Produce strictly, parse leniently (spec §4.3 recommendation): what we emit is accepted by
 * go-spiffe and SPIRE, which both reject some things the spec says to ignore; what we read
 * follows the spec's "MUST ignore" rules.
 */
import { readCertificateFacts } from './certificate-facts.js';
import { SpiffeIdError, validateTrustDomainName } from './id.js';
import { hasPrivateMembers, orderedPublicJwk, publicJwkOfCertificate, publicKeyMembers, type Jwk } from './jwk.js';
import { StrictJsonError, parseStrictJson, type StrictJsonValue } from './strict-json.js';

export type { Jwk } from './jwk.js';

export interface JwtAuthority {
  readonly kid: string;
  readonly publicKeyJwk: Jwk;
}

export interface SpiffeBundle {
  /** DER CA certificates. */
  x509Authorities: Uint8Array[];
  jwtAuthorities: JwtAuthority[];
  sequence?: bigint;
  refreshHintSeconds?: number;
}

export interface SpiffeBundleInput {
  readonly x509Authorities: readonly Uint8Array[];
  readonly jwtAuthorities: readonly JwtAuthority[];
  readonly sequence?: bigint | number;
  readonly refreshHintSeconds?: number;
}

export class BundleError extends Error {
  override readonly name = 'BundleError';
}

const X509_SVID_USE = 'x509-svid';
const JWT_SVID_USE = 'jwt-svid';
/** Key types an X.509 CA certificate can carry. The entry's key comes from the certificate. */
const X509_KTY = ['EC', 'RSA', 'OKP'];
/** Key types that can verify one of the nine JWT-SVID algorithms (J-03): no EdDSA. */
const JWT_KTY = ['EC', 'RSA'];
const MAX_UINT64 = 2n ** 64n - 1n;

function fail(message: string): never {
  throw new BundleError(message);
}

const errorText = (err: unknown): string => (err instanceof Error ? err.message : String(err));

// ---------------------------------------------------------------- producing

/**
 * Keys in SPIRE's order (X.509 authorities, then JWT authorities), each member in go-jose's
 * order; then `spiffe_sequence` and `spiffe_refresh_hint`, which JSON.stringify cannot write
 * for a 64-bit sequence, hence the hand-built outer object.
 */
export function encodeSpiffeBundle(bundle: SpiffeBundleInput): string {
  let json = `{"keys":${JSON.stringify(spiffeBundleKeys(bundle))}`;
  if (bundle.sequence !== undefined) json += `,"spiffe_sequence":${checkedSequence(bundle.sequence).toString()}`;
  if (bundle.refreshHintSeconds !== undefined) {
    json += `,"spiffe_refresh_hint":${checkedRefreshHint(bundle.refreshHintSeconds)}`;
  }
  return json + '}';
}

/** RFC 7517 JWKS for the Workload API's JWT bundles (§3.5): kid on every key, no use, no sequence. */
export function encodeJwtBundleJwks(jwtAuthorities: readonly JwtAuthority[]): string {
  return JSON.stringify({ keys: jwtKeys(jwtAuthorities, undefined) });
}

/** The JWS algorithm of a JWT authority's key, as Sigil signs with it (ES256, ES384, RS256). */
function jwsAlgorithmOfJwk(key: Jwk): string {
  if (key.kty === 'EC' && key.crv === 'P-256') return 'ES256';
  if (key.kty === 'EC' && key.crv === 'P-384') return 'ES384';
  if (key.kty === 'RSA') return 'RS256';
  return fail(`no JWS algorithm for a ${key.kty ?? 'typeless'} key${key.crv ? ` on ${key.crv}` : ''}`);
}

/**
 * The JWKS an OIDC discovery document names (RFC 7517 with `use: sig` and `alg` on each key, as
 * AWS IAM, GCP workload identity federation and Vault's JWT auth expect): the JWT authorities only.
 */
export function encodeOidcJwks(jwtAuthorities: readonly JwtAuthority[]): string {
  const keys = jwtKeys(jwtAuthorities, 'sig').map((key, i) => ({ ...key, alg: jwsAlgorithmOfJwk((jwtAuthorities[i] as JwtAuthority).publicKeyJwk) }));
  return JSON.stringify({ keys });
}

function spiffeBundleKeys(bundle: SpiffeBundleInput): Record<string, unknown>[] {
  const x509Keys = bundle.x509Authorities.map((der, i) => {
    let jwk: Jwk;
    try {
      readCertificateFacts(der);
      jwk = publicJwkOfCertificate(der);
    } catch (err) {
      return fail(`X.509 authority ${i} is not a DER certificate: ${errorText(err)}`);
    }
    // X-23/X-24: exactly one standard-base64 certificate, and no kid.
    return orderedPublicJwk(jwk, { use: X509_SVID_USE, x5c: [Buffer.from(der).toString('base64')] });
  });
  return [...x509Keys, ...jwtKeys(bundle.jwtAuthorities, JWT_SVID_USE)];
}

function jwtKeys(authorities: readonly JwtAuthority[], use: string | undefined): Record<string, unknown>[] {
  const kids = new Set<string>();
  return authorities.map(({ kid, publicKeyJwk }) => {
    if (typeof kid !== 'string' || kid === '') fail('JWT authority kid cannot be empty');
    if (kids.has(kid)) fail(`duplicate JWT authority kid "${kid}"`);
    kids.add(kid);
    if (hasPrivateMembers(publicKeyJwk)) {
      fail(`JWT authority "${kid}" is a private key; bundles carry public keys only`);
    }
    const checked = publicKeyMembers({ ...publicKeyJwk }, JWT_KTY);
    if (typeof checked === 'string') fail(`JWT authority "${kid}": ${checked}`);
    return orderedPublicJwk(checked, { use, kid });
  });
}

function checkedSequence(sequence: bigint | number): bigint {
  if (typeof sequence === 'number' && !Number.isSafeInteger(sequence)) {
    fail('spiffe_sequence must be an integer (use a bigint beyond 2^53)');
  }
  const value = BigInt(sequence);
  if (value < 0n || value > MAX_UINT64) fail('spiffe_sequence must fit in an unsigned 64-bit integer');
  return value;
}

function checkedRefreshHint(seconds: number): number {
  if (!Number.isSafeInteger(seconds) || seconds <= 0) {
    fail('spiffe_refresh_hint must be a positive whole number of seconds');
  }
  return seconds;
}

// ---------------------------------------------------------------- parsing

export function parseSpiffeBundle(json: string): SpiffeBundle {
  return bundleFromDocument(parseDocument(json, 'JWKS'), '');
}

function parseDocument(json: string, what: string): { [member: string]: StrictJsonValue } {
  let doc: StrictJsonValue;
  try {
    doc = parseStrictJson(json);
  } catch (err) {
    if (err instanceof StrictJsonError) fail(`unable to parse ${what}: ${err.message}`);
    throw err;
  }
  if (!isObject(doc)) fail(`unable to parse ${what}: expected a JSON object`);
  return doc;
}

function isObject(value: StrictJsonValue | undefined): value is { [member: string]: StrictJsonValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `where` prefixes messages, so bundle map errors say which trust domain they are about. */
function bundleFromDocument(doc: { [member: string]: StrictJsonValue }, where: string): SpiffeBundle {
  const keys = doc.keys;
  // B-04: `keys` is required, but may be empty (every key revoked).
  if (keys === undefined) fail(`${where}bundle has no "keys" member`);
  if (!Array.isArray(keys)) fail(`${where}"keys" must be an array`);

  const bundle: SpiffeBundle = { x509Authorities: [], jwtAuthorities: [] };
  const kids = new Set<string>();
  keys.forEach((entry, i) => {
    if (!isObject(entry)) fail(`${where}key entry ${i} is not a JSON object`);
    // B-05: an unknown or missing use, or an unknown kty, makes the entry ignored, not an error.
    if (entry.use === X509_SVID_USE && X509_KTY.includes(entry.kty as string)) {
      const der = x509AuthorityOf(entry, `${where}x509-svid entry ${i}`);
      if (der !== undefined) bundle.x509Authorities.push(der);
    } else if (entry.use === JWT_SVID_USE && JWT_KTY.includes(entry.kty as string)) {
      const authority = jwtAuthorityOf(entry, `${where}jwt-svid entry ${i}`);
      if (authority === undefined) return;
      if (kids.has(authority.kid)) fail(`${where}duplicate jwt-svid kid "${authority.kid}"`);
      kids.add(authority.kid);
      bundle.jwtAuthorities.push(authority);
    }
  });

  const sequence = sequenceOf(doc.spiffe_sequence, where);
  if (sequence !== undefined) bundle.sequence = sequence;
  const refreshHint = refreshHintOf(doc.spiffe_refresh_hint, where);
  if (refreshHint !== undefined) bundle.refreshHintSeconds = refreshHint;
  return bundle;
}

/** X-25: a missing or empty x5c means "ignore this entry"; only the first certificate counts. */
function x509AuthorityOf(entry: { [member: string]: StrictJsonValue }, where: string): Uint8Array | undefined {
  const x5c = entry.x5c;
  if (x5c === undefined || x5c === null || (Array.isArray(x5c) && x5c.length === 0)) return undefined;
  if (!Array.isArray(x5c)) fail(`${where}: x5c must be an array`);
  const first = x5c[0];
  if (typeof first !== 'string' || !isStandardBase64(first)) fail(`${where}: x5c[0] must be standard base64`);
  const der = new Uint8Array(Buffer.from(first, 'base64'));
  try {
    readCertificateFacts(der);
  } catch (err) {
    fail(`${where}: x5c[0] is not a DER certificate: ${errorText(err)}`);
  }
  return der;
}

/** A jwt-svid key without kid cannot be selected by any token, so it is ignored (J-11). */
function jwtAuthorityOf(entry: { [member: string]: StrictJsonValue }, where: string): JwtAuthority | undefined {
  const kid = entry.kid;
  if (typeof kid !== 'string' || kid === '') return undefined;
  const publicKeyJwk = publicKeyMembers(entry, JWT_KTY);
  if (typeof publicKeyJwk === 'string') fail(`${where} (kid "${kid}"): ${publicKeyJwk}`);
  return { kid, publicKeyJwk };
}

/** B-02: 64-bit precision; the strict parser hands over integers past 2^53 as exact bigints. */
function sequenceOf(value: StrictJsonValue | undefined, where: string): bigint | undefined {
  if (value === undefined) return undefined;
  const asBigint = typeof value === 'bigint' ? value : Number.isSafeInteger(value) ? BigInt(value as number) : undefined;
  if (asBigint === undefined || asBigint < 0n || asBigint > MAX_UINT64) {
    fail(`${where}spiffe_sequence must be an unsigned 64-bit integer`);
  }
  return asBigint;
}

/** B-03: whole seconds. 0 means "not set", as in SPIRE (omitempty), so callers apply their default. */
function refreshHintOf(value: StrictJsonValue | undefined, where: string): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`${where}spiffe_refresh_hint must be a non-negative whole number of seconds`);
  }
  return value === 0 ? undefined : value;
}

function isStandardBase64(s: string): boolean {
  return s.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(s);
}

// ---------------------------------------------------------------- bundle maps (B-09)

/**
 * `{"trust_domains": {"<name>": <bundle>, ...}}`. Duplicate trust domain names are rejected
 * (the strict parser refuses repeated member names). Per-bundle refresh hints are dropped:
 * consumers MUST NOT let them change how the map is refreshed.
 */
export function parseBundleMap(json: string): Map<string, SpiffeBundle> {
  const doc = parseDocument(json, 'bundle map');
  const trustDomains = doc.trust_domains;
  if (trustDomains === undefined) fail('bundle map has no "trust_domains" member');
  if (!isObject(trustDomains)) fail('"trust_domains" must be a JSON object');

  const out = new Map<string, SpiffeBundle>();
  for (const [name, bundleDoc] of Object.entries(trustDomains)) {
    checkTrustDomainKey(name);
    const where = `trust domain "${name}": `;
    if (!isObject(bundleDoc)) fail(`${where}bundle must be a JSON object`);
    const bundle = bundleFromDocument(bundleDoc, where);
    delete bundle.refreshHintSeconds;
    out.set(name, bundle);
  }
  return out;
}

/** Map keys are unique by construction; per-bundle refresh hints are omitted as B-09 asks. */
export function encodeBundleMap(bundles: ReadonlyMap<string, SpiffeBundleInput>): string {
  const members = [...bundles].map(([name, bundle]) => {
    checkTrustDomainKey(name);
    const { refreshHintSeconds: _omitted, ...withoutHint } = bundle;
    return `${JSON.stringify(name)}:${encodeSpiffeBundle(withoutHint)}`;
  });
  return `{"trust_domains":{${members.join(',')}}}`;
}

function checkTrustDomainKey(name: string): void {
  try {
    validateTrustDomainName(name);
  } catch (err) {
    if (err instanceof SpiffeIdError) fail(`invalid trust domain name ${JSON.stringify(name)}: ${err.message}`);
    throw err;
  }
}
