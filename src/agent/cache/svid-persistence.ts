import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFileAtomic } from '../../common/files.js';
import type { Logger } from '../../common/logger.js';
import type { AgentEntry } from '../sync/entry-cache.js';
import type { CachedSvid, SvidCache } from './svid-cache.js';

/** One file per entry: the entry (so a restarted agent can match callers before it syncs) and its SVID. */
interface PersistedSvid {
  version: 1;
  entry: AgentEntry;
  svid: {
    serial: string;
    /** Base64 DER, leaf first. */
    chain: string[];
    /** Base64 PKCS#8. */
    key: string;
    not_before: number;
    not_after: number;
    rotate_at: number;
    received_at: number;
  };
}

export interface RestoredCache {
  entries: AgentEntry[];
  svids: CachedSvid[];
  /** Files that could not be read (removed; their entries are issued again). */
  discarded: number;
}

const fileName = (entryId: string) => `${encodeURIComponent(entryId)}.json`;
/** Which agent identity the cache belongs to. */
const ownerFile = 'owner.json';

function toPersisted(entry: AgentEntry, svid: CachedSvid): PersistedSvid {
  return {
    version: 1,
    entry,
    svid: {
      serial: svid.serial,
      chain: svid.chainDer.map((d) => Buffer.from(d).toString('base64')),
      key: Buffer.from(svid.privateKeyPkcs8).toString('base64'),
      not_before: svid.notBefore.getTime(),
      not_after: svid.notAfter.getTime(),
      rotate_at: svid.rotateAt,
      received_at: svid.receivedAt,
    },
  };
}

function fromPersisted(p: PersistedSvid): CachedSvid {
  if (p.version !== 1 || typeof p.entry?.id !== 'string' || typeof p.svid?.serial !== 'string' || !Array.isArray(p.svid.chain)) throw new Error('not a persisted SVID');
  return {
    entryId: p.entry.id,
    spiffeId: p.entry.spiffeId,
    hint: p.entry.hint,
    revision: p.entry.revision,
    serial: p.svid.serial,
    chainDer: p.svid.chain.map((b) => new Uint8Array(Buffer.from(b, 'base64'))),
    privateKeyPkcs8: new Uint8Array(Buffer.from(p.svid.key, 'base64')),
    notBefore: new Date(p.svid.not_before),
    notAfter: new Date(p.svid.not_after),
    rotateAt: p.svid.rotate_at,
    receivedAt: p.svid.received_at,
  };
}

/**
 * Keeps the workload SVID cache on disk (`<data_dir>/svids/`, folder 0700, files 0600, keys not
 * encrypted: the same protection as the agent's own key beside them), so that a restarted agent
 * serves at once and renews only what is due, instead of re-issuing every SVID. A cache, not a
 * record: writes are atomic (temp file + rename) but not fsynced, and a file that cannot be read
 * after a crash is removed and its SVID issued again.
 */
export class SvidPersistence {
  private readonly dir: string;
  private readonly writes = new Map<string, Promise<void>>();

  constructor(
    dataDir: string,
    private readonly log: Logger,
  ) {
    this.dir = join(dataDir, 'svids');
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
  }

  /**
   * Read what the last run left: SVIDs still valid at `now`; expired and unreadable files are
   * removed. A cache kept by another agent identity (the node attested again) is dropped whole.
   */
  restore(now: number, agentSpiffeId: string): RestoredCache {
    const entries: AgentEntry[] = [];
    const svids: CachedSvid[] = [];
    let discarded = 0;
    const ownerPath = join(this.dir, ownerFile);
    let owner: string | undefined;
    try {
      owner = (JSON.parse(readFileSync(ownerPath, 'utf8')) as { spiffe_id?: string }).spiffe_id;
    } catch {
      owner = undefined;
    }
    const sameOwner = owner === agentSpiffeId;
    for (const name of readdirSync(this.dir)) {
      const path = join(this.dir, name);
      if (name === ownerFile) continue;
      if (!name.endsWith('.json') || !sameOwner) {
        rmSync(path, { force: true });
        continue;
      }
      try {
        const persisted = JSON.parse(readFileSync(path, 'utf8')) as PersistedSvid;
        const svid = fromPersisted(persisted);
        if (svid.notAfter.getTime() <= now) {
          rmSync(path, { force: true });
          continue;
        }
        entries.push(persisted.entry);
        svids.push(svid);
      } catch (err) {
        discarded++;
        this.log.warn({ file: name, err: (err as Error).message }, 'removed an SVID cache file that cannot be read; its SVID is issued again');
        rmSync(path, { force: true });
      }
    }
    if (!sameOwner) writeFileAtomic(ownerPath, JSON.stringify({ spiffe_id: agentSpiffeId }), 0o600);
    return { entries, svids, discarded };
  }

  /** Follow the cache: every SVID that changes is written, every one that goes is removed. */
  follow(cache: SvidCache, entryOf: (entryId: string) => AgentEntry | undefined): void {
    cache.on('updated', (entryIds: string[]) => {
      for (const id of entryIds) {
        const svid = cache.get(id);
        const entry = entryOf(id);
        this.enqueue(id, svid && entry ? () => this.write(id, toPersisted(entry, svid)) : () => rm(join(this.dir, fileName(id)), { force: true }));
      }
    });
  }

  /** Resolves when every write queued so far is on disk. */
  async flush(): Promise<void> {
    await Promise.all([...this.writes.values()]);
  }

  /** Writes for one entry run in order, so an older SVID never lands over a newer one. */
  private enqueue(entryId: string, job: () => Promise<void>): void {
    const previous = this.writes.get(entryId) ?? Promise.resolve();
    const next = previous.then(job).catch((err: unknown) => this.log.warn({ entryId, err: (err as Error).message }, 'cannot write the SVID cache file'));
    this.writes.set(entryId, next);
    void next.then(() => {
      if (this.writes.get(entryId) === next) this.writes.delete(entryId);
    });
  }

  private async write(entryId: string, persisted: PersistedSvid): Promise<void> {
    const path = join(this.dir, fileName(entryId));
    const temp = `${path}.tmp`;
    await writeFile(temp, JSON.stringify(persisted), { mode: 0o600 });
    await rename(temp, path);
  }
}
