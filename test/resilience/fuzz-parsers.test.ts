import assert from 'node:assert/strict';
import { describe, it, before } from 'node:test';
import fc from 'fast-check';
import { certificateDer, createSelfSignedCaCertificate } from '../../src/pki/certificates.js';
import { CsrError, createCsr, verifyCsr } from '../../src/pki/csr.js';
import { exportPublicKeyJwk, exportPublicKeySpki, generateKeyPair, type KeyPair } from '../../src/pki/keys.js';
import { signJwtSvid } from '../../src/pki/jwt.js';
import { pemEncode } from '../../src/pki/pem.js';
import { BundleError, encodeBundleMap, encodeSpiffeBundle, parseBundleMap, parseSpiffeBundle, type JwtAuthority, type SpiffeBundle } from '../../src/spiffe/bundle.js';
import { readCertificateFacts } from '../../src/spiffe/certificate-facts.js';
import { SpiffeIdError, parseSpiffeId } from '../../src/spiffe/id.js';
import { JwtSvidError, checkJwtSvidClaims, checkJwtSvidHeader } from '../../src/spiffe/jwt-svid-claims.js';
import { verifyJwtSvid } from '../../src/spiffe/jwt-svid-verify.js';
import { StrictJsonError, parseStrictJson } from '../../src/spiffe/strict-json.js';
import { anyString, byteMutations, deeplyNestedJson, fuzzParameters, jsonValue, mutateBytes, mutateString, stringMutations } from '../helpers/fuzz.js';

// Issue 8, fuzzing: the pure parsers an attacker can reach (SPIFFE IDs in every API, bundles
// from federation and files, JWT-SVIDs on ValidateJWTSVID, CSRs on the agent API and REST).
// Each one either returns something that satisfies its rules or throws its own documented error
// type; never another exception, never a hang, and never accepts a mutated signed object.

/** Run `fn`; a throw must be an instance of `errorType`. Returns the result, or undefined if refused. */
function acceptsOrRefusesWith<T>(errorType: new (...args: never[]) => Error, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    assert.ok(err instanceof errorType, `expected ${errorType.name}, got ${(err as Error)?.stack ?? String(err)}`);
    return undefined;
  }
}

async function acceptsOrRefusesWithAsync<T>(errorType: new (...args: never[]) => Error, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    assert.ok(err instanceof errorType, `expected ${errorType.name}, got ${(err as Error)?.stack ?? String(err)}`);
    return undefined;
  }
}

/** A wall-clock bound well above the normal time, so a quadratic or stuck parser fails the test. */
function assertQuick(what: string, limitMs: number, fn: () => void): void {
  const started = performance.now();
  fn();
  const took = performance.now() - started;
  assert.ok(took < limitMs, `${what} took ${took.toFixed(0)} ms (limit ${limitMs} ms)`);
}

const segment = fc.stringMatching(/^[A-Za-z0-9._-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const trustDomain = fc.stringMatching(/^[a-z0-9._-]{1,20}$/);
const validSpiffeId = fc.tuple(trustDomain, fc.array(segment, { maxLength: 5 })).map(([td, segments]) => `spiffe://${td}${segments.map((s) => `/${s}`).join('')}`);

/** What ID-01..ID-12 promise of anything parseSpiffeId accepts. */
function assertWellFormedSpiffeId(input: string): void {
  const id = parseSpiffeId(input);
  assert.equal(id.toString(), input, 'an accepted ID prints back as it was given');
  assert.match(id.trustDomain, /^[a-z0-9._-]+$/, 'ID-05/ID-06/ID-07');
  if (id.path !== '') {
    assert.match(id.path, /^(\/[A-Za-z0-9._-]+)+$/, 'ID-09/ID-10/ID-11/ID-12');
    assert.ok(!id.path.split('/').some((s) => s === '.' || s === '..'), 'ID-10: no dot segments');
  }
  assert.ok(!/[?#%@:]/.test(input.slice('spiffe://'.length)), 'ID-02/ID-04: no query, fragment, userinfo or port');
  assert.ok(parseSpiffeId(id.toString()).equals(id));
}

describe('fuzz: SPIFFE ID parser (ID-01..ID-16)', () => {
  it('ID-01..ID-12: any string is accepted as a well-formed ID or refused with a SpiffeIdError', () => {
    fc.assert(
      fc.property(fc.oneof(anyString(80), fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => `spiffe://${s}`)), (input) => {
        const id = acceptsOrRefusesWith(SpiffeIdError, () => parseSpiffeId(input));
        if (id) assertWellFormedSpiffeId(input);
      }),
      fuzzParameters(801, 2000),
    );
  });

  it('ID-02..ID-12: mutations of valid IDs are accepted only when they are still well formed', () => {
    fc.assert(
      fc.property(validSpiffeId, stringMutations, (valid, mutations) => {
        assertWellFormedSpiffeId(valid);
        const mutated = mutateString(valid, mutations);
        const id = acceptsOrRefusesWith(SpiffeIdError, () => parseSpiffeId(mutated));
        if (id) assertWellFormedSpiffeId(mutated);
      }),
      fuzzParameters(802, 2000),
    );
  });

  it('ID-14: a 1 MB ID, valid or with a bad byte at the end, is parsed in linear time', () => {
    const long = `spiffe://example.org${'/abcdefgh'.repeat(116_000)}`;
    assertQuick('a 1 MB valid ID', 500, () => assert.equal(parseSpiffeId(long).toString(), long));
    assertQuick('a 1 MB ID with a bad last byte', 500, () => assert.throws(() => parseSpiffeId(`${long}%`), SpiffeIdError));
    assertQuick('a 1 MB trust domain', 500, () => assert.throws(() => parseSpiffeId(`spiffe://${'a'.repeat(1_000_000)}A`), SpiffeIdError));
  });
});

/** Integers JSON.stringify writes without an exponent that a double cannot hold exactly (read back as bigint, B-02). */
function hasUnsafeInteger(value: unknown): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && !Number.isSafeInteger(value) && Math.abs(value) < 1e21;
  if (Array.isArray(value)) return value.some(hasUnsafeInteger);
  if (typeof value === 'object' && value !== null) return Object.values(value).some(hasUnsafeInteger);
  return false;
}

describe('fuzz: bundle parser (B-01..B-09, X-23..X-25, J-11)', () => {
  let caDer: Uint8Array;
  let jwtAuthority: JwtAuthority;
  let realBundle: string;

  before(async () => {
    const keys = await generateKeyPair('ec-p256');
    caDer = certificateDer(await createSelfSignedCaCertificate(keys, { trustDomain: 'example.org', subject: 'O=Sigil', notBefore: new Date('2030-01-01T00:00:00Z'), notAfter: new Date('2031-01-01T00:00:00Z') }));
    jwtAuthority = { kid: 'kid-1', publicKeyJwk: (await exportPublicKeyJwk((await generateKeyPair('ec-p256')).publicKey)) as JwtAuthority['publicKeyJwk'] };
    realBundle = encodeSpiffeBundle({ x509Authorities: [caDer], jwtAuthorities: [jwtAuthority], sequence: 7n, refreshHintSeconds: 300 });
  });

  /** What a parsed bundle promises its users: real DER CAs, jwt keys with unique non-empty kids. */
  function assertUsableBundle(bundle: SpiffeBundle): void {
    for (const der of bundle.x509Authorities) readCertificateFacts(der);
    const kids = bundle.jwtAuthorities.map((a) => a.kid);
    assert.ok(kids.every((k) => typeof k === 'string' && k !== ''), 'J-11: every jwt-svid key has a kid');
    assert.equal(new Set(kids).size, kids.length, 'kids are unique');
    if (bundle.sequence !== undefined) assert.ok(bundle.sequence >= 0n && bundle.sequence < 2n ** 64n, 'B-02: u64 sequence');
    if (bundle.refreshHintSeconds !== undefined) assert.ok(Number.isSafeInteger(bundle.refreshHintSeconds) && bundle.refreshHintSeconds > 0, 'B-03');
  }

  it('B-01: the real bundle parses back to what was encoded', () => {
    const bundle = parseSpiffeBundle(realBundle);
    assert.deepEqual(bundle.x509Authorities.map((d) => Buffer.from(d).toString('hex')), [Buffer.from(caDer).toString('hex')]);
    assert.deepEqual(bundle.jwtAuthorities.map((a) => a.kid), ['kid-1']);
    assert.equal(bundle.sequence, 7n);
  });

  it('random text and random JSON documents: a usable bundle or a BundleError', () => {
    fc.assert(
      fc.property(fc.oneof(anyString(200), jsonValue().map((v) => JSON.stringify(v) ?? 'undefined'), jsonValue().map((v) => JSON.stringify({ keys: v }))), (text) => {
        const bundle = acceptsOrRefusesWith(BundleError, () => parseSpiffeBundle(text));
        if (bundle) assertUsableBundle(bundle);
        acceptsOrRefusesWith(BundleError, () => parseBundleMap(text));
      }),
      fuzzParameters(811, 1500),
    );
  });

  it('text mutations of a real bundle: a usable bundle or a BundleError', () => {
    fc.assert(
      fc.property(stringMutations, (mutations) => {
        const bundle = acceptsOrRefusesWith(BundleError, () => parseSpiffeBundle(mutateString(realBundle, mutations)));
        if (bundle) assertUsableBundle(bundle);
      }),
      fuzzParameters(812, 1500),
    );
  });

  it('B-05/X-25: a key entry replaced, or a member of it replaced, by any JSON value: a usable bundle or a BundleError', () => {
    const doc = JSON.parse(realBundle) as { keys: Record<string, unknown>[] };
    const members = [...new Set(doc.keys.flatMap((k) => Object.keys(k))), 'x5c', 'kid', 'use', 'kty', 'spiffe_sequence', 'spiffe_refresh_hint'];
    fc.assert(
      fc.property(fc.nat({ max: doc.keys.length - 1 }), fc.constantFrom(...members), jsonValue(3), fc.boolean(), (index, member, value, wholeEntry) => {
        const copy = structuredClone(doc) as { keys: unknown[] } & Record<string, unknown>;
        if (member.startsWith('spiffe_')) copy[member] = value;
        else if (wholeEntry) copy.keys[index] = value;
        else (copy.keys[index] as Record<string, unknown>)[member] = value;
        const text = JSON.stringify(copy);
        const bundle = acceptsOrRefusesWith(BundleError, () => parseSpiffeBundle(text));
        if (bundle) assertUsableBundle(bundle);
        const map = acceptsOrRefusesWith(BundleError, () => parseBundleMap(`{"trust_domains":{"example.org":${text}}}`));
        for (const b of map?.values() ?? []) assertUsableBundle(b);
      }),
      fuzzParameters(813, 600),
    );
  });

  it('B-09: a bundle map round-trips, and mutated trust domain names are refused or valid', () => {
    const map = encodeBundleMap(new Map([['example.org', { x509Authorities: [caDer], jwtAuthorities: [jwtAuthority] }]]));
    assert.deepEqual([...parseBundleMap(map).keys()], ['example.org']);
    fc.assert(
      fc.property(stringMutations, (mutations) => {
        const parsed = acceptsOrRefusesWith(BundleError, () => parseBundleMap(mutateString(map, mutations)));
        for (const [name, bundle] of parsed ?? []) {
          assert.match(name, /^[a-z0-9._-]+$/);
          assertUsableBundle(bundle);
        }
      }),
      fuzzParameters(814, 1000),
    );
  });

  it('deep nesting (100,000 levels) is a BundleError, not a stack overflow', () => {
    for (const kind of ['array', 'object'] as const) {
      const nested = deeplyNestedJson(100_000, kind);
      assertQuick(`${kind} nesting`, 500, () => assert.throws(() => parseSpiffeBundle(nested), BundleError));
      assert.throws(() => parseSpiffeBundle(`{"keys":${nested}}`), BundleError);
      assert.throws(() => parseBundleMap(`{"trust_domains":${nested}}`), BundleError);
    }
  });

  it('the strict JSON reader agrees with JSON.parse on every document JSON.parse reads (safe numbers)', () => {
    fc.assert(
      fc.property(jsonValue().filter((v) => !hasUnsafeInteger(v)), (value) => {
        const text = JSON.stringify(value);
        if (text === undefined) return;
        const parsed = acceptsOrRefusesWith(StrictJsonError, () => parseStrictJson(text));
        // The only refusal allowed is a repeated member name, which JSON.stringify cannot produce.
        assert.notEqual(parsed, undefined, `refused ${text}`);
        assert.deepEqual(parsed, JSON.parse(text));
      }),
      fuzzParameters(815, 1000),
    );
  });
});

describe('fuzz: JWT-SVID validation (J-01..J-12)', () => {
  const at = new Date('2030-06-01T00:00:00Z');
  const now = at.getTime() / 1000;
  const audience = ['spiffe://example.org/db'];
  let signer: KeyPair;
  let authorities: JwtAuthority[];
  let valid: string;
  const authoritiesFor = (td: string) => (td === 'example.org' ? authorities : undefined);
  const verify = (token: string) => verifyJwtSvid(token, authoritiesFor, { audience, at });

  before(async () => {
    signer = await generateKeyPair('ec-p256');
    authorities = [{ kid: 'kid-1', publicKeyJwk: (await exportPublicKeyJwk(signer.publicKey)) as JwtAuthority['publicKeyJwk'] }];
    valid = await signJwtSvid(signer, 'kid-1', { sub: 'spiffe://example.org/web', aud: audience, exp: now + 300, iat: now });
  });

  const b64url = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
  const decodedSegments = (token: string) => token.split('.').map((s) => Buffer.from(s, 'base64url').toString('hex'));

  it('the unmutated token is accepted (the mutations below start from a token that works)', async () => {
    const claims = await verify(valid);
    assert.equal(claims.spiffeId.toString(), 'spiffe://example.org/web');
  });

  it('J-01: a mutated token is never accepted, and every refusal is a JwtSvidError', async () => {
    const base64urlChars = fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''));
    const mutation = fc.oneof(
      stringMutations.map((m) => (t: string) => mutateString(t, m)),
      fc.tuple(fc.nat(), base64urlChars).map(([at, c]) => (t: string) => t.slice(0, at % t.length) + c + t.slice((at % t.length) + 1)),
    );
    await fc.assert(
      fc.asyncProperty(mutation, async (mutate) => {
        const token = mutate(valid);
        if (token === valid) return;
        const accepted = await acceptsOrRefusesWithAsync(JwtSvidError, () => verify(token));
        // base64url keeps a few spare bits in a segment's last character: a token that differs
        // only there decodes to the same bytes (go-jose reads it the same way), so it is the same token.
        if (accepted) assert.deepEqual(decodedSegments(token), decodedSegments(valid), `accepted a mutated token: ${token}`);
      }),
      fuzzParameters(821, 1500),
    );
  });

  it('J-02..J-08: re-encoded headers and claims without a matching signature are refused with a JwtSvidError', async () => {
    const [header, payload, signature] = valid.split('.') as [string, string, string];
    const headerObject = JSON.parse(Buffer.from(header, 'base64url').toString()) as Record<string, unknown>;
    const claimsObject = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const edit = fc.record({ target: fc.constantFrom('header', 'claims'), member: fc.constantFrom('alg', 'kid', 'typ', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jku', 'crit'), value: fc.oneof(jsonValue(2), fc.constant(undefined)) });
    await fc.assert(
      fc.asyncProperty(fc.array(edit, { minLength: 1, maxLength: 3 }), fc.constantFrom('keep', 'empty', 'drop'), async (edits, signatureChoice) => {
        const h = { ...headerObject };
        const c = { ...claimsObject };
        for (const e of edits) (e.target === 'header' ? h : c)[e.member] = e.value;
        if (JSON.stringify(h) === JSON.stringify(headerObject) && JSON.stringify(c) === JSON.stringify(claimsObject)) return;
        const sig = signatureChoice === 'keep' ? signature : '';
        const token = signatureChoice === 'drop' ? `${b64url(h)}.${b64url(c)}` : `${b64url(h)}.${b64url(c)}.${sig}`;
        await assert.rejects(verify(token), JwtSvidError);
      }),
      fuzzParameters(822, 800),
    );
  });

  it('J-03/J-12: a token signed by another key under the same kid, or with alg none or HS256, is refused', async () => {
    const attacker = await generateKeyPair('ec-p256');
    const forged = await signJwtSvid(attacker, 'kid-1', { sub: 'spiffe://example.org/web', aud: audience, exp: now + 300, iat: now });
    await assert.rejects(verify(forged), (err: unknown) => err instanceof JwtSvidError && /cryptographic primitive/.test(err.message));
    const [, payload] = valid.split('.') as [string, string];
    for (const alg of ['none', 'HS256']) {
      await assert.rejects(verify(`${b64url({ alg, kid: 'kid-1', typ: 'JWT' })}.${payload}.`), (err: unknown) => err instanceof JwtSvidError && /unsupported token signature algorithm/.test(err.message));
    }
  });

  it('random strings and random header/claims objects: only JwtSvidError', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(anyString(120), fc.tuple(jsonValue(2), jsonValue(2), anyString(20)).map(([h, c, s]) => `${b64url(h ?? null)}.${b64url(c ?? null)}.${s}`)), async (token) => {
        await assert.rejects(verify(token), (err: unknown) => {
          assert.ok(err instanceof JwtSvidError, `expected JwtSvidError, got ${(err as Error)?.stack ?? String(err)}`);
          return true;
        });
      }),
      fuzzParameters(823, 800),
    );
    fc.assert(
      fc.property(jsonValue(3), jsonValue(3), (header, claims) => {
        acceptsOrRefusesWith(JwtSvidError, () => checkJwtSvidHeader(header));
        const checked = acceptsOrRefusesWith(JwtSvidError, () => checkJwtSvidClaims(claims, { audience, at }));
        if (checked) assert.ok(checked.audience.includes(audience[0] as string) && checked.expiresAt.getTime() >= at.getTime() - 60_000);
      }),
      fuzzParameters(824, 1500),
    );
  });
});

describe('fuzz: CSR verification (random and mutated DER)', () => {
  let keys: KeyPair;
  let csrDer: Uint8Array;
  let spkiHex: string;

  before(async () => {
    keys = await generateKeyPair('ec-p256');
    csrDer = await createCsr(keys);
    spkiHex = Buffer.from(await exportPublicKeySpki(keys.publicKey)).toString('hex');
  });

  it('the real CSR verifies and yields its key', async () => {
    const verified = await verifyCsr(csrDer);
    assert.equal(Buffer.from(verified.subjectPublicKeyInfo).toString('hex'), spkiHex);
  });

  it('mutated DER: refused with a CsrError, or (if the signed part is intact) yields exactly the original key', async () => {
    await fc.assert(
      fc.asyncProperty(byteMutations, async (mutations) => {
        const mutated = mutateBytes(csrDer, mutations);
        const verified = await acceptsOrRefusesWithAsync(CsrError, () => verifyCsr(mutated));
        if (verified) assert.equal(Buffer.from(verified.subjectPublicKeyInfo).toString('hex'), spkiHex, 'a mutated CSR never proves possession of another key');
      }),
      fuzzParameters(831, 1500),
    );
  });

  it('random bytes, random PEM and a PEM block with mutated contents: a CsrError', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 300 }),
          anyString(200),
          fc.uint8Array({ maxLength: 300 }).map((b) => pemEncode('CERTIFICATE REQUEST', b)),
          byteMutations.map((m) => pemEncode('CERTIFICATE REQUEST', mutateBytes(csrDer, [...m, { at: 0, kind: 'set', value: 0x31 }]))),
        ),
        async (input) => {
          await assert.rejects(verifyCsr(input), (err: unknown) => {
            assert.ok(err instanceof CsrError, `expected CsrError, got ${(err as Error)?.stack ?? String(err)}`);
            return true;
          });
        },
      ),
      fuzzParameters(832, 800),
    );
  });

  it('a CSR signed by one key around another key\'s SPKI is refused (no proof of possession)', async () => {
    const other = await generateKeyPair('ec-p256');
    const otherCsr = await createCsr(other);
    // Same length of SPKI for P-256: splice the other key's SPKI into our CSR's signed part.
    const ours = Buffer.from(csrDer);
    const theirSpki = Buffer.from(await exportPublicKeySpki(other.publicKey));
    const at = ours.indexOf(Buffer.from(spkiHex, 'hex'));
    assert.ok(at > 0 && otherCsr.length > 0);
    const spliced = Buffer.concat([ours.subarray(0, at), theirSpki, ours.subarray(at + theirSpki.length)]);
    await assert.rejects(verifyCsr(new Uint8Array(spliced)), (err: unknown) => err instanceof CsrError && /signature does not verify/.test(err.message));
  });
});
