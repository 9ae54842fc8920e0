import type { DelegateScopeConfig } from '../../config.js';
import type { AgentEntry } from '../../sync/entry-cache.js';
import { statusText } from './rpc-error.js';
import { DelegateScope } from './scope.js';

export type Authorization = { allowed: true; delegateIds: string[]; scopes: DelegateScope[] } | { allowed: false; details: string };

/**
 * DI-02: a caller is a delegate when any of its own entries (from kernel-attested selectors) has a
 * SPIFFE ID in `authorized_delegates`. It then holds the scope of each such ID (none: unlimited).
 */
export class DelegatePolicy {
  private readonly delegates: ReadonlySet<string>;
  private readonly scopes: ReadonlyMap<string, DelegateScope>;

  constructor(authorizedDelegates: readonly string[], scopes: Readonly<Record<string, DelegateScopeConfig>>) {
    this.delegates = new Set(authorizedDelegates);
    this.scopes = new Map(Object.entries(scopes).map(([id, config]) => [id, new DelegateScope(config)]));
  }

  authorize(callerEntries: readonly AgentEntry[]): Authorization {
    if (callerEntries.length === 0) return { allowed: false, details: statusText.noIdentity };
    const delegateIds = [...new Set(callerEntries.map((e) => e.spiffeId).filter((id) => this.delegates.has(id)))];
    if (delegateIds.length === 0) return { allowed: false, details: statusText.notDelegate };
    return { allowed: true, delegateIds, scopes: delegateIds.map((id) => this.scopes.get(id) ?? DelegateScope.unrestricted) };
  }
}
