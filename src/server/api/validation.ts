import { z } from 'zod';
import { describeIssues } from '../../common/config-file.js';
import { invalidArgument } from '../../common/errors.js';
import { parseDurationSeconds } from '../../common/duration.js';
import { containsControlCharacter } from '../../common/text.js';
import { maxPageSize } from '../../store/pagination.js';
import { spiffeIdRefusal, workloadIdRefusal } from '../spiffe-id-rules.js';

/** Validate a body/query/params object; the error names every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path'): z.infer<S> {
  if (where === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalidArgument('request body must be a JSON object (send Content-Type: application/json)');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw invalidArgument(`invalid ${where}: ${describeIssues(result.error.issues)}`);
  return result.data;
}

/** Adds the refusal `check` finds in a string field as a zod issue, so the 400 names the field. */
const refusing = (check: (value: string) => string | undefined) =>
  z.string().superRefine((value, ctx) => {
    const refusal = check(value);
    if (refusal !== undefined) ctx.addIssue({ code: 'custom', message: refusal });
  });

/** Any SPIFFE ID a caller gives (parent_id, filters): valid syntax, at most 2048 bytes (ID-14). */
export const spiffeIdSchema = refusing(spiffeIdRefusal);

/** A SPIFFE ID that names a workload: as above, plus a path outside the reserved /sigil. */
export const workloadSpiffeIdSchema = refusing(workloadIdRefusal);

/** Free text that ends up in certificates, tokens, logs or terminals: no control characters. */
export const plainText = (maxLength: number) =>
  z
    .string()
    .max(maxLength)
    .refine((value) => !containsControlCharacter(value), 'must not contain control characters (NUL, newline, escape ...)');

export const selectorSchema = z.strictObject({
  type: z.string().min(1, 'must not be empty').max(64).regex(/^[a-z0-9_-]+$/, 'must be lowercase letters, digits, "_" or "-"'),
  value: plainText(1024).min(1, 'must not be empty'),
});

export const audienceSchema = plainText(512).min(1, 'must not be empty');

const dnsLabel = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const dnsNamePattern = new RegExp(`^(\\*\\.)?${dnsLabel}(\\.${dnsLabel})*$`);
export const dnsNameSchema = z.string().max(253).regex(dnsNamePattern, 'must be a DNS name');

/** A duration ("90s", "15m", "1h", "7d" or seconds) of at least a second: a zero TTL is a mistake to name here, not a CA failure later. */
export const durationField = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined || (typeof value === 'number' && !Number.isInteger(value))) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (seconds, or "90s", "15m", "1h", "7d")` });
    return z.NEVER;
  }
  if (seconds < 1) {
    ctx.addIssue({ code: 'custom', message: `must be at least 1s, not ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return seconds;
});

export const pageQuery = {
  page_size: z.coerce.number().int().min(1).max(maxPageSize).default(100),
  page_token: z.string().max(200).optional(),
};

/** Query strings repeat a key to give a list; accept one value or many. */
export const repeatedQuery = <T extends z.ZodType>(item: T) => z.union([item, z.array(item)]).transform((v) => (Array.isArray(v) ? v : [v]) as z.infer<T>[]);

export const rfc3339Schema = z.iso.datetime({ offset: true }).transform((v) => new Date(v).getTime());
