import type { presentTtl } from '../../server/api/present.js';

/** Tell the operator on stderr when the server gave a shorter lifetime than asked for. */
export function reportCappedTtl(ttl: ReturnType<typeof presentTtl>): void {
  if (ttl.capped_by) process.stderr.write(`Note: the TTL was capped to ${ttl.effective}s by ${ttl.capped_by} (asked for ${ttl.requested}s)\n`);
}
