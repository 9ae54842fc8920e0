import { parseArgs } from 'node:util';
import type { FlagSpecs, LeafCommand } from './command.js';
import { UsageError } from './errors.js';
import { FlagValues } from './flag-values.js';

const helpSpellings = new Set(['-h', '--help', '-help']);

/** True when -h/--help appears before any "--" (it wins over every other flag, even a bad one). */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (helpSpellings.has(arg)) return true;
  }
  return false;
}

/**
 * SPIRE's CLI (Go's flag package) spells long flags with one dash, and some in camelCase
 * (`-spiffeID`, `-x509SVIDTTL=1h`). Rewrite every spelling we know to our `--kebab-case` so
 * that parseArgs sees one form. Booleans also take Go's `-admin=true|false`.
 */
export function normaliseFlags(args: readonly string[], specs: FlagSpecs, commandPath: string): string[] {
  const canonical = new Map<string, string>();
  for (const [name, spec] of Object.entries(specs)) {
    canonical.set(name, name);
    if (spec.spireName) canonical.set(spec.spireName, name);
  }
  const out: string[] = [];
  let previousTakesValue = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const match = /^(--?)([^=]+)(?:=([\s\S]*))?$/.exec(arg);
    const afterStringFlag = previousTakesValue;
    previousTakesValue = false;
    if (!match || arg === '-') {
      out.push(arg);
      continue;
    }
    const [, dashes, spelling = '', inlineValue] = match;
    const name = canonical.get(spelling);
    const spec = name === undefined ? undefined : specs[name];
    if (name === undefined || spec === undefined) {
      // parseArgs would read "-foo" as the short flags -f -o -o and name only "-f".
      if (dashes === '-' && spelling.length > 1 && !afterStringFlag) throw new UsageError(`unknown flag -${spelling}`, commandPath);
      out.push(arg);
      continue;
    }
    if (spec.type === 'boolean' && inlineValue !== undefined) {
      if (inlineValue === 'true') out.push(`--${name}`);
      else if (inlineValue === 'false') {
        if (specs[`no-${name}`]) out.push(`--no-${name}`);
      } else throw new UsageError(`flag --${name} takes no value (or =true / =false), got ${JSON.stringify(inlineValue)}`, commandPath);
      continue;
    }
    previousTakesValue = spec.type === 'string' && inlineValue === undefined;
    out.push(inlineValue === undefined ? `--${name}` : `--${name}=${inlineValue}`);
  }
  return out;
}

function describeParseError(err: unknown): string {
  const { code, message } = err as { code?: string; message?: string };
  const text = message ?? String(err);
  const flag = /'(-[^ ']+)/.exec(text)?.[1] ?? '';
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown flag ${flag}`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${/'([^']*)'/.exec(text)?.[1] ?? ''}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      if (text.includes('argument missing')) return `flag ${flag} needs a value`;
      if (text.includes('does not take an argument')) return `flag ${flag} takes no value`;
      if (text.includes('ambiguous')) return `flag ${flag} needs a value; to give one that starts with "-", write ${flag}=-VALUE`;
      return text.split('\n')[0] ?? text;
    default:
      return text;
  }
}

/** Parse a leaf command's arguments, checking choices, required flags and the number of positionals. */
export function parseCommandArgs(args: readonly string[], command: LeafCommand, commandPath: string): { flags: FlagValues; positionals: string[] } {
  const options = Object.fromEntries(Object.entries(command.flags).map(([name, spec]) => [name, { type: spec.type, multiple: spec.multiple ?? false }]));
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: normaliseFlags(args, command.flags, commandPath), options, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError(describeParseError(err), commandPath);
  }
  const max = command.positionals?.max ?? 0;
  const extra = parsed.positionals[max];
  if (extra !== undefined) throw new UsageError(`unexpected argument ${JSON.stringify(extra)}`, commandPath);
  const flags = new FlagValues(parsed.values, commandPath);
  for (const [name, spec] of Object.entries(command.flags)) {
    if (spec.required && !flags.has(name)) throw new UsageError(`missing required flag --${name}`, commandPath);
    if (!spec.choices) continue;
    for (const value of flags.strings(name)) {
      if (!spec.choices.includes(value)) throw flags.invalid(name, value, `must be one of ${spec.choices.join(', ')}`);
    }
  }
  return { flags, positionals: parsed.positionals };
}
