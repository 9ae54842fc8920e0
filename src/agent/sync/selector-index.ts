import type { Selector } from '../attestation/selector.js';

export const selectorKey = (s: Selector): string => `${s.type}:${s.value}`;

/** Where entries with no selector are filed: they match every caller. No selector key is empty. */
const everyCaller = '';

/**
 * Entry ids by selector, so that matching a caller looks at a few candidates instead of every
 * entry. An entry matches only a caller that has all of its selectors, so filing it under one of
 * them is enough: the one with the fewest entries when it is added keeps the candidate lists short.
 */
export class SelectorIndex {
  private readonly idsByKey = new Map<string, Set<string>>();
  private readonly keyOfId = new Map<string, string>();

  add(id: string, selectors: readonly Selector[]): void {
    this.remove(id);
    let key = everyCaller;
    let smallest = Infinity;
    for (const selector of selectors) {
      const candidate = selectorKey(selector);
      const size = this.idsByKey.get(candidate)?.size ?? 0;
      if (size < smallest) {
        key = candidate;
        smallest = size;
      }
    }
    let ids = this.idsByKey.get(key);
    if (!ids) this.idsByKey.set(key, (ids = new Set()));
    ids.add(id);
    this.keyOfId.set(id, key);
  }

  remove(id: string): void {
    const key = this.keyOfId.get(id);
    if (key === undefined) return;
    this.keyOfId.delete(id);
    const ids = this.idsByKey.get(key);
    ids?.delete(id);
    if (ids?.size === 0) this.idsByKey.delete(key);
  }

  /** Ids of the entries a caller with these selectors may match: every match is among them. */
  candidates(callerSelectors: ReadonlySet<string>): string[] {
    const out = [...(this.idsByKey.get(everyCaller) ?? [])];
    for (const key of callerSelectors) {
      const ids = this.idsByKey.get(key);
      if (ids) for (const id of ids) out.push(id);
    }
    return out;
  }
}
