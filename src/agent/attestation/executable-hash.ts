import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/**
 * SHA-256 of files, cached by (dev, inode, size, mtime, ctime) so that each executable is read
 * once, however many times its processes call. ctime is in the key too: it changes on every write,
 * even one that puts the old mtime back. Least recently used entries go first once full.
 * A file being hashed is hashed once for every caller that asks meanwhile: 250 callers started
 * together after a restart would otherwise each read the same 99 MB binary (issue 15 item 6).
 */
export class ExecutableHashCache {
  private readonly entries = new Map<string, string>();
  /** Hashes under way, by the same key; a failed one is forgotten, never cached. */
  private readonly hashing = new Map<string, Promise<string>>();
  private cacheHits = 0;
  private filesHashed = 0;

  constructor(private readonly maxEntries = 256) {}

  get size(): number {
    return this.entries.size;
  }

  get hits(): number {
    return this.cacheHits;
  }

  /** How many times a whole file was read and hashed. */
  get hashed(): number {
    return this.filesHashed;
  }

  /** Hex SHA-256 of the file at `path` (for a process, `/proc/<pid>/exe`, which opens the right file in any mount namespace). */
  async sha256(path: string): Promise<string> {
    const file = await open(path, 'r');
    try {
      const st = await file.stat({ bigint: true });
      const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeNs}:${st.ctimeNs}`;
      const cached = this.entries.get(key);
      if (cached !== undefined) {
        this.cacheHits++;
        this.entries.delete(key);
        this.entries.set(key, cached);
        return cached;
      }
      let hashing = this.hashing.get(key);
      if (!hashing) {
        hashing = this.hash(key, file).finally(() => this.hashing.delete(key));
        this.hashing.set(key, hashing);
      }
      // Our handle stays open until the hash is done: the one it reads through may be ours.
      return await hashing;
    } finally {
      await file.close();
    }
  }

  private async hash(key: string, file: FileHandle): Promise<string> {
    this.filesHashed++;
    const hash = createHash('sha256');
    for await (const chunk of file.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
    const digest = hash.digest('hex');
    this.entries.set(key, digest);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    return digest;
  }
}
