import { agentIdPathPrefix, reservedPathRoot, serverIdPath } from '../common/grpc/agent-api-types.js';
import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { MAX_SPIFFE_ID_BYTES, checkMintable, parseSpiffeId, validatePathSegment, type SpiffeId } from '../spiffe/id.js';
import type { Entry, EntryStore } from '../store/entries.js';
import type { SvidKind } from '../store/issued-svids.js';

/**
 * Which SPIFFE IDs Sigil accepts from callers and issues SVIDs for. One place for these rules:
 * the admin API validates with them (a 400 that names the field), and the CA and the agent API
 * check them again, so that an entry stored before a rule existed is still never issued for.
 */

/** `/sigil` and every path under it. Paths are case-sensitive (ID-16): `/Sigil` is not reserved. */
function isReservedPath(path: string): boolean {
  return path === reservedPathRoot || path.startsWith(`${reservedPathRoot}/`);
}

type Checked = { id: SpiffeId; refusal?: undefined } | { id?: undefined; refusal: string };

/** Parsed (ID-01..ID-12) and within the lengths we issue (ID-14: 2048 bytes, ID-15: 255 bytes). */
function parseWithinLimits(text: string): Checked {
  try {
    const id = parseSpiffeId(text);
    checkMintable(id);
    return { id };
  } catch (err) {
    return { refusal: `invalid SPIFFE ID: ${errorMessage(err)}` };
  }
}

/** Why `text` is not a SPIFFE ID we take from a caller (any field: spiffe_id, parent_id, filters), or undefined. */
export function spiffeIdRefusal(text: string): string | undefined {
  return parseWithinLimits(text).refusal;
}

/** Why `text` cannot be the ID of a workload (an entry's spiffe_id, a minted SVID), or undefined. */
export function workloadIdRefusal(text: string): string | undefined {
  const { id, refusal } = parseWithinLimits(text);
  if (refusal !== undefined) return refusal;
  if (id.isTrustDomainId) return 'must have a non-root path (X-05)';
  if (isReservedPath(id.path)) {
    return `${text} is reserved: ${reservedPathRoot} and every path under it name Sigil's own server and agents`;
  }
  return undefined;
}

function agentIdRefusal(text: string, trustDomain: string): string | undefined {
  const prefix = `spiffe://${trustDomain}${agentIdPathPrefix}`;
  if (!text.startsWith(prefix)) return `an agent SVID must have an ID under ${prefix}`;
  try {
    validatePathSegment(text.slice(prefix.length));
    return undefined;
  } catch (err) {
    return `invalid agent ID: ${errorMessage(err)}`;
  }
}

/**
 * The CA's own check before it signs: workloads and mints never get an ID in the reserved path,
 * and the server and agents get only theirs.
 */
export function issuableIdRefusal(text: string, kind: SvidKind, trustDomain: string): string | undefined {
  switch (kind) {
    case 'workload':
    case 'mint':
      return workloadIdRefusal(text);
    case 'agent':
      return agentIdRefusal(text, trustDomain);
    case 'server': {
      const expected = `spiffe://${trustDomain}${serverIdPath}`;
      return text === expected ? undefined : `the server SVID must have the ID ${expected}`;
    }
  }
}

/** `spiffe://<td>/sigil`, under which every ID is reserved. */
function reservedIdRoot(trustDomain: string): string {
  return `spiffe://${trustDomain}${reservedPathRoot}`;
}

/**
 * At start: one error line per stored entry that no SVID will be issued for because of its
 * SPIFFE ID (created before these rules), so that an operator fixes or deletes it.
 */
export function reportUnissuableEntries(entries: EntryStore, trustDomain: string, log: Logger): void {
  const unissuable = new Map<string, Entry>();
  for (const entry of [...entries.withSpiffeIdUnder(reservedIdRoot(trustDomain)), ...entries.withSpiffeIdLongerThan(MAX_SPIFFE_ID_BYTES)]) {
    unissuable.set(entry.id, entry);
  }
  for (const entry of unissuable.values()) {
    const reason = workloadIdRefusal(entry.spiffeId) ?? 'not issuable';
    log.error({ entryId: entry.id, spiffeId: entry.spiffeId, reason }, 'entry has a SPIFFE ID that is never issued for; update its spiffe_id or delete it');
  }
}
