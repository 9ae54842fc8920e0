import { errorMessage } from '../common/errors.js';
import type { Logger } from '../common/logger.js';
import { MAX_SPIFFE_ID_BYTES, checkMintable, parseSpiffeId, type SpiffeId } from '../spiffe/id.js';
import type { EntryStore } from '../store/entries.js';
import type { SvidKind } from '../store/issued-svids.js';

/**
 * Which SPIFFE IDs Sigil accepts from callers and issues SVIDs for. One place for these rules:
 * the admin API validates with them (a 400 that names the field), and the CA and the agent API
 * check them again, so that an entry stored before a rule existed is still never issued for.
 */

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
  return undefined;
}

/** The CA's own check before it signs. */
export function issuableIdRefusal(text: string, kind: SvidKind): string | undefined {
  return kind === 'workload' || kind === 'mint' ? workloadIdRefusal(text) : spiffeIdRefusal(text);
}

/**
 * At start: one error line per stored entry that no SVID will be issued for because of its
 * SPIFFE ID (created before these rules), so that an operator fixes or deletes it.
 */
export function reportUnissuableEntries(entries: EntryStore, log: Logger): void {
  for (const entry of entries.withSpiffeIdLongerThan(MAX_SPIFFE_ID_BYTES)) {
    const reason = workloadIdRefusal(entry.spiffeId) ?? 'not issuable';
    log.error({ entryId: entry.id, spiffeId: entry.spiffeId, reason }, 'entry has a SPIFFE ID that is never issued for; update its spiffe_id or delete it');
  }
}
