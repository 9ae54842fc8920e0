import fc from 'fast-check';

/**
 * Settings for the standing fuzz suite. Every property has a fixed seed so that `npm test` is
 * reproducible; fast-check prints the seed and the shrunk counterexample path on failure.
 * SIGIL_SOAK=1 multiplies the runs (same seed, so a soak run explores a superset of the default
 * one); SIGIL_FUZZ_SEED=<n> replaces every seed, to explore elsewhere or replay a soak failure.
 */
export const soak = process.env.SIGIL_SOAK === '1';
const soakFactor = 40;

export function fuzzParameters<T>(seed: number, numRuns: number): fc.Parameters<T> {
  const override = process.env.SIGIL_FUZZ_SEED;
  return {
    seed: override !== undefined && override !== '' ? Number(override) : seed,
    numRuns: soak ? numRuns * soakFactor : numRuns,
  };
}

/** One UTF-16 code unit, lone surrogates included (fast-check's 'binary' unit never makes those). */
const anyCodeUnit = fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c));

/** A string of any code points, or of any UTF-16 code units (lone surrogates too), as a hostile caller may send. */
export const anyString = (maxLength = 64) => fc.oneof(fc.string({ unit: 'binary', maxLength }), fc.string({ unit: anyCodeUnit, maxLength }));

/** For a URL: a lone surrogate cannot be percent-encoded, so it becomes U+FFFD as a browser would send it. */
export const encodePathSegment = (s: string) => encodeURIComponent(s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd'));

export interface StringMutation {
  at: number;
  kind: 'replace' | 'insert' | 'delete';
  text: string;
}

/** One to four edits of a string: replace, insert or delete at a position (taken modulo its length). */
export const stringMutations = fc.array(
  fc.record({ at: fc.nat(), kind: fc.constantFrom('replace' as const, 'insert' as const, 'delete' as const), text: fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.constantFrom('/', '.', '..', '%2f', ':', '@', '?', '#', '"', '{', '}', '[', ']', ',', '\\', '\u0000')) }),
  { minLength: 1, maxLength: 4 },
);

export function mutateString(original: string, mutations: readonly StringMutation[]): string {
  let s = original;
  for (const m of mutations) {
    const at = s.length === 0 ? 0 : m.at % (s.length + (m.kind === 'insert' ? 1 : 0));
    if (m.kind === 'insert') s = s.slice(0, at) + m.text + s.slice(at);
    else if (m.kind === 'delete') s = s.slice(0, at) + s.slice(at + m.text.length);
    else s = s.slice(0, at) + m.text + s.slice(at + m.text.length);
  }
  return s;
}

export interface ByteMutation {
  at: number;
  kind: 'set' | 'insert' | 'delete' | 'truncate';
  value: number;
}

/** One to six byte edits; positions are taken modulo the length so any input can be mutated. */
export const byteMutations = fc.array(
  fc.record({ at: fc.nat(), kind: fc.constantFrom('set' as const, 'insert' as const, 'delete' as const, 'truncate' as const), value: fc.integer({ min: 0, max: 255 }) }),
  { minLength: 1, maxLength: 6 },
);

export function mutateBytes(original: Uint8Array, mutations: readonly ByteMutation[]): Uint8Array {
  let bytes = Array.from(original);
  for (const m of mutations) {
    const at = bytes.length === 0 ? 0 : m.at % bytes.length;
    if (m.kind === 'set') bytes[at] = m.value;
    else if (m.kind === 'insert') bytes.splice(at, 0, m.value);
    else if (m.kind === 'delete') bytes.splice(at, 1);
    else bytes = bytes.slice(0, at);
  }
  return Uint8Array.from(bytes);
}

/** JSON values of every shape, including the awkward ones (empty keys, "__proto__", huge numbers). */
export const jsonValue = (maxDepth = 4) =>
  fc.letrec((tie) => ({
    value: fc.oneof(
      { depthSize: 'small', maxDepth },
      fc.constant(null),
      fc.boolean(),
      fc.double(),
      fc.integer(),
      fc.constantFrom(0, -1, 2 ** 53, 1e308, -0),
      anyString(40),
      fc.constantFrom('', '__proto__', 'constructor', 'spiffe://example.org/x', 'spiffe://example.org', '1h', '-5s', 'true', 'null'),
      fc.array(tie('value'), { maxLength: 4 }),
      fc.dictionary(fc.oneof(anyString(8), fc.constantFrom('__proto__', 'constructor', '')), tie('value'), { maxKeys: 4 }),
    ),
  })).value;

/** `depth` arrays or objects inside each other, as text (JSON.stringify would recurse that deep). */
export function deeplyNestedJson(depth: number, kind: 'array' | 'object'): string {
  return kind === 'array' ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + 'null' + '}'.repeat(depth);
}
