/**
 * JSON.parse with the two differences the SPIFFE bundle rules need:
 * - an object that repeats a member name is rejected (B-09: JSON.parse silently keeps the last);
 * - an integer literal beyond Number.MAX_SAFE_INTEGER comes back as an exact `bigint` (B-02).
 * Other values (strings, safe integers, fractions, exponents) come back as JSON.parse gives them.
 */

export class StrictJsonError extends Error {
  override readonly name = 'StrictJsonError';
}

export type StrictJsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | StrictJsonValue[]
  | { [member: string]: StrictJsonValue };

const MAX_DEPTH = 128;
const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

export function parseStrictJson(text: string): StrictJsonValue {
  const parser = new Parser(text);
  const value = parser.value(0);
  parser.skipWhitespace();
  if (!parser.atEnd()) parser.fail('unexpected data after the JSON value');
  return value;
}

class Parser {
  private pos = 0;

  constructor(private readonly text: string) {}

  fail(message: string): never {
    throw new StrictJsonError(`${message} at position ${this.pos}`);
  }

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  skipWhitespace(): void {
    for (; this.pos < this.text.length; this.pos++) {
      const c = this.text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
    }
  }

  value(depth: number): StrictJsonValue {
    if (depth > MAX_DEPTH) this.fail('JSON nested too deeply');
    this.skipWhitespace();
    switch (this.text[this.pos]) {
      case '{':
        return this.object(depth);
      case '[':
        return this.array(depth);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        return this.number();
    }
  }

  private object(depth: number): StrictJsonValue {
    const out: { [member: string]: StrictJsonValue } = {};
    const seen = new Set<string>();
    this.pos++; // {
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a member name');
      const name = this.string();
      if (seen.has(name)) this.fail(`duplicate member name ${JSON.stringify(name)}`);
      seen.add(name);
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      // defineProperty, not assignment, so a member named "__proto__" stays an own property.
      const value = this.value(depth + 1);
      Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
      this.skipWhitespace();
      const next = this.text[this.pos++];
      if (next === '}') return out;
      if (next !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(depth: number): StrictJsonValue {
    const out: StrictJsonValue[] = [];
    this.pos++; // [
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      out.push(this.value(depth + 1));
      this.skipWhitespace();
      const next = this.text[this.pos++];
      if (next === ']') return out;
      if (next !== ',') this.fail("expected ',' or ']'");
    }
  }

  /** Finds the closing quote, then lets JSON.parse decode escapes and reject control characters. */
  private string(): string {
    const start = this.pos;
    for (this.pos++; this.pos < this.text.length; this.pos++) {
      const c = this.text.charCodeAt(this.pos);
      if (c === 0x5c) {
        this.pos++; // skip the escaped character, which may be a quote
      } else if (c === 0x22) {
        this.pos++;
        try {
          return JSON.parse(this.text.slice(start, this.pos)) as string;
        } catch {
          this.pos = start;
          return this.fail('invalid string');
        }
      }
    }
    this.pos = start;
    return this.fail('unterminated string');
  }

  private literal(word: string, value: boolean | null): StrictJsonValue {
    if (!this.text.startsWith(word, this.pos)) this.fail('unexpected character');
    this.pos += word.length;
    return value;
  }

  private number(): StrictJsonValue {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail(this.atEnd() ? 'unexpected end of JSON' : 'unexpected character');
    this.pos += match[0].length;
    const isInteger = match[1] === undefined && match[2] === undefined;
    const asNumber = Number(match[0]);
    return isInteger && !Number.isSafeInteger(asNumber) ? BigInt(match[0]) : asNumber;
  }
}
