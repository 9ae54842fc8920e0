/**
 * Which of the SVIDs a Workload API response carries a process uses. A process with several
 * entries gets all of their SVIDs; go-spiffe takes the first (the default identity, WL-30),
 * and a process that wants a particular one names it by hint or by SPIFFE ID.
 */
import type { X509Svid } from '../x509-response.js';

export type SvidChoice = { hint: string } | { spiffeId: string };

/** The chosen SVID of a response, or undefined when the response has none that fits. */
export function chooseSvid(svids: readonly X509Svid[], choice?: SvidChoice): X509Svid | undefined {
  if (choice === undefined) return svids[0];
  if ('hint' in choice) return svids.find((svid) => svid.hint === choice.hint);
  return svids.find((svid) => svid.spiffeId === choice.spiffeId);
}

/** "hint \"web\"", "SPIFFE ID spiffe://…", or "the default SVID": for messages. */
export function describeChoice(choice?: SvidChoice): string {
  if (choice === undefined) return 'the default SVID';
  return 'hint' in choice ? `hint "${choice.hint}"` : `SPIFFE ID ${choice.spiffeId}`;
}

/** What a response offers instead, for the message when the chosen SVID is missing. */
export function describeOffer(svids: readonly X509Svid[]): string {
  if (svids.length === 0) return 'no SVIDs';
  return svids.map((svid) => (svid.hint ? `${svid.spiffeId} (hint "${svid.hint}")` : svid.spiffeId)).join(', ');
}
