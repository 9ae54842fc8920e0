/** fast-check arbitraries for valid SPIFFE IDs (SPIFFE-ID §2, rules ID-xx) and DNS names. */
import fc from 'fast-check';

const lowercase = 'abcdefghijklmnopqrstuvwxyz';
const digits = '0123456789';
const trustDomainChars = `${lowercase}${digits}.-_`;
const pathSegmentChars = `${trustDomainChars}${lowercase.toUpperCase()}`;

/** ID-03, ID-05, ID-06, ID-08: non-empty, lowercase letters, digits, dot, dash, underscore. */
export const trustDomainArb = fc.string({ unit: fc.constantFrom(...trustDomainChars), minLength: 1, maxLength: 40 });

/** ID-09, ID-10, ID-12: letters (either case), digits, dot, dash, underscore; never "." or "..". */
export const pathSegmentArb = fc.string({ unit: fc.constantFrom(...pathSegmentChars), minLength: 1, maxLength: 16 }).filter((s) => s !== '.' && s !== '..');

/** a SPIFFE ID with a non-root path, as a leaf carries (no trailing slash, ID-11). */
export const workloadSpiffeIdArb = fc
  .tuple(trustDomainArb, fc.array(pathSegmentArb, { minLength: 1, maxLength: 5 }))
  .map(([trustDomain, segments]) => `spiffe://${trustDomain}/${segments.join('/')}`);

const dnsLabel = '[A-Za-z0-9]([A-Za-z0-9-]{0,20}[A-Za-z0-9])?';
/** What the entries API accepts as a DNS name (dnsNameSchema), wildcards included. */
export const dnsNameArb = fc.stringMatching(new RegExp(`^(\\*\\.)?${dnsLabel}(\\.${dnsLabel}){0,3}$`));
