import type { Selector } from '../../attestation/selector.js';
import type { DelegateScopeConfig } from '../../config.js';

/**
 * What one delegate may obtain (beyond SPIRE, where an authorized delegate may pull every
 * identity on the node): the selectors it may ask with, and the SPIFFE IDs it may receive.
 * A dimension left out of the config is not limited.
 */
export class DelegateScope {
  static readonly unrestricted = new DelegateScope({});

  private readonly selectorTypes: ReadonlySet<string> | undefined;
  private readonly selectors: ReadonlySet<string> | undefined;
  private readonly spiffeIdPrefixes: readonly string[] | undefined;

  constructor(config: DelegateScopeConfig) {
    const limitsSelectors = config.selector_types !== undefined || config.selectors !== undefined;
    this.selectorTypes = limitsSelectors ? new Set(config.selector_types ?? []) : undefined;
    this.selectors = limitsSelectors ? new Set(config.selectors ?? []) : undefined;
    this.spiffeIdPrefixes = config.spiffe_id_prefixes;
  }

  allowsSelector(s: Selector): boolean {
    if (!this.selectorTypes || !this.selectors) return true;
    return this.selectorTypes.has(s.type) || this.selectors.has(`${s.type}:${s.value}`);
  }

  /** Whole path segments: the prefix `spiffe://td/a` covers `spiffe://td/a/b`, never `spiffe://td/ab`. */
  allowsSpiffeId(id: string): boolean {
    if (!this.spiffeIdPrefixes) return true;
    return this.spiffeIdPrefixes.some((p) => id === p || id.startsWith(`${p}/`));
  }
}
