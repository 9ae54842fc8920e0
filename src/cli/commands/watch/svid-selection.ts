/** Which of a caller's X509-SVIDs the watcher writes: by SPIFFE ID, by hint, or the default (the first, WL-30). */
import type { X509Svid } from '../../../workload/x509-response.js';

export interface SvidChoice {
  spiffeId?: string;
  hint?: string;
}

export type Selection = { svid: X509Svid } | { missing: string };

const describe = (svid: X509Svid) => (svid.hint ? `${svid.spiffeId} (hint ${svid.hint})` : svid.spiffeId);

/**
 * The SVID that matches every given criterion. When none does, `missing` says what was asked and
 * what the agent offers; the watcher then keeps waiting (an entry may be created later), as
 * spiffe-helper does.
 */
export function selectSvid(svids: readonly X509Svid[], choice: SvidChoice): Selection {
  const match = svids.find((svid) => (choice.spiffeId === undefined || svid.spiffeId === choice.spiffeId) && (choice.hint === undefined || svid.hint === choice.hint));
  if (match) return { svid: match };
  const asked = [choice.spiffeId && `SPIFFE ID ${choice.spiffeId}`, choice.hint !== undefined && `hint ${JSON.stringify(choice.hint)}`].filter(Boolean).join(' and ');
  return { missing: `no SVID with ${asked}; the agent offers: ${svids.map(describe).join(', ') || 'none'}` };
}
