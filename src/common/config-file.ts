import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { parseDurationSeconds } from './duration.js';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

/** "a.b[2].c" from a zod issue path, the name an operator sees in the file. */
export function issuePath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : acc ? `${acc}.${String(key)}` : String(key)), '');
}

export function describeIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues
    .map((i) => {
      if (i.code === 'unrecognized_keys') {
        const where = issuePath(i.path);
        return i.keys.map((k) => `${where ? `${where}.` : ''}${k}: unknown key`).join('; ');
      }
      return `${issuePath(i.path) || '(root)'}: ${i.message}`;
    })
    .join('; ');
}

/** `version: '1.1'` reads an unquoted 0644 as octal, as HCL and spiffe-helper's files do. */
export function readYamlFile(path: string, options: { version?: '1.1' | '1.2' } = {}): unknown {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${path}: ${(err as Error).message}`);
  }
  try {
    return parseYaml(text, { version: options.version ?? '1.2' }) ?? {};
  } catch (err) {
    throw new ConfigError(`config file ${path} is not valid YAML: ${(err as Error).message}`);
  }
}

export function parseConfig<S extends z.ZodType>(schema: S, raw: unknown, source: string): z.infer<S> {
  const result = schema.safeParse(raw);
  if (!result.success) throw new ConfigError(`invalid config (${source}): ${describeIssues(result.error.issues)}`);
  return result.data;
}

/** A duration field: "1h", "30m", "90s", "7d" or a number of seconds; at least `minSeconds`. */
export const durationSchema = (minSeconds = 1) =>
  z.union([z.string(), z.number()]).transform((value, ctx) => {
    const seconds = parseDurationSeconds(value);
    if (seconds === undefined) {
      ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (use e.g. "90s", "15m", "1h", "7d")` });
      return z.NEVER;
    }
    if (seconds < minSeconds) {
      ctx.addIssue({ code: 'custom', message: `must be at least ${minSeconds}s` });
      return z.NEVER;
    }
    return seconds;
  });

/** host:port, with IPv6 in brackets. */
export function parseHostPort(value: string): { host: string; port: number } | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:\s]+):(\d{1,5})$/.exec(value);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  return { host: (m[1] ?? '').replace(/^\[|\]$/g, ''), port };
}
