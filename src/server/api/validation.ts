import { z } from 'zod';
import { describeIssues } from '../../common/config-file.js';
import { invalidArgument } from '../../common/errors.js';
import { parseDurationSeconds } from '../../common/duration.js';
import { parseSpiffeId } from '../../spiffe/id.js';
import { maxPageSize } from '../../store/pagination.js';

/** Validate a body/query/params object; the error names every bad field. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: 'body' | 'query' | 'path'): z.infer<S> {
  if (where === 'body' && (typeof value !== 'object' || value === null || Array.isArray(value))) {
    throw invalidArgument('request body must be a JSON object (send Content-Type: application/json)');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw invalidArgument(`invalid ${where}: ${describeIssues(result.error.issues)}`);
  return result.data;
}

export const spiffeIdSchema = z.string().superRefine((value, ctx) => {
  try {
    parseSpiffeId(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `invalid SPIFFE ID: ${(err as Error).message}` });
  }
});

/** Paths of the identities Sigil issues to itself: agents (/sigil/agent/...) and the server (/sigil/server). */
export const reservedPathPrefix = '/sigil';

/**
 * A SPIFFE ID that names a workload: it must have a path, outside the reserved /sigil
 * namespace. An entry or a mint there would hand a workload an SVID that agents accept as the
 * server, or that names an agent (SPIRE reserves /spire/ the same way).
 */
export const workloadSpiffeIdSchema = spiffeIdSchema.superRefine((value, ctx) => {
  let path: string;
  try {
    path = parseSpiffeId(value).path;
  } catch {
    return; // already reported by spiffeIdSchema
  }
  if (path === '') ctx.addIssue({ code: 'custom', message: 'must have a non-root path (X-05)' });
  else if (path === reservedPathPrefix || path.startsWith(`${reservedPathPrefix}/`)) {
    ctx.addIssue({ code: 'custom', message: `path ${path} is in the reserved namespace ${reservedPathPrefix} (the identities of Sigil's agents and servers)` });
  }
});

export const selectorSchema = z.strictObject({
  type: z.string().min(1, 'must not be empty').max(64).regex(/^[a-z0-9_-]+$/, 'must be lowercase letters, digits, "_" or "-"'),
  value: z.string().min(1, 'must not be empty').max(1024),
});

const dnsLabel = '[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?';
const dnsNamePattern = new RegExp(`^(\\*\\.)?${dnsLabel}(\\.${dnsLabel})*$`);
export const dnsNameSchema = z.string().max(253).regex(dnsNamePattern, 'must be a DNS name');

export const durationField = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined || (typeof value === 'number' && !Number.isInteger(value))) {
    ctx.addIssue({ code: 'custom', message: `not a duration: ${JSON.stringify(value)} (seconds, or "90s", "15m", "1h", "7d")` });
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
