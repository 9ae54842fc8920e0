import type { Clock } from '../../common/clock.js';
import type { AgentNode } from '../node/agent-node.js';
import type { AgentEntry } from '../sync/entry-cache.js';

interface CachedJwt {
  token: string;
  /** Handed out until half of its life has passed, then a fresh one is minted. */
  refreshAt: number;
}

/** JWT-SVIDs per (entry, audience set), minted by the server, bounded in number (oldest dropped first). */
export class JwtSvidCache {
  private readonly tokens = new Map<string, CachedJwt>();

  constructor(
    private readonly node: AgentNode,
    private readonly clock: Clock,
    private readonly maxTokens = 10_000,
  ) {}

  async get(entry: AgentEntry, audience: readonly string[]): Promise<string> {
    const key = `${entry.id}\u0000${entry.revision}\u0000${[...new Set(audience)].sort().join('\u0000')}`;
    const now = this.clock.now().getTime();
    const cached = this.tokens.get(key);
    if (cached && now < cached.refreshAt) return cached.token;
    const client = await this.node.serverClient();
    const res = await client.mintJwtSvid({ entry_id: entry.id, audience: [...audience] });
    const expiresAt = Number(res.expires_at) * 1000;
    this.tokens.delete(key);
    this.tokens.set(key, { token: res.token, refreshAt: now + (expiresAt - now) / 2 });
    while (this.tokens.size > this.maxTokens) this.tokens.delete(this.tokens.keys().next().value as string);
    return res.token;
  }

  clear(): void {
    this.tokens.clear();
  }
}
