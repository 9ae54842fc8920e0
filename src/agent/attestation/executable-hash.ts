import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';

/**
 * SHA-256 of files, cached by (dev, inode, size, mtime, ctime) so that each executable is read
 * once, however many times its processes call. ctime is in the key too: it changes on every write,
 * even one that puts the old mtime back. Least recently used entries go first once full.
 */
export class ExecutableHashCache {
  private readonly entries = new Map<string, string>();
  private cacheHits = 0;

  constructor(private readonly maxEntries = 256) {}

  get size(): number {
    return this.entries.size;
  }

  get hits(): number {
    return this.cacheHits;
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
      const hash = createHash('sha256');
      for await (const chunk of file.createReadStream({ autoClose: false, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
      const digest = hash.digest('hex');
      this.entries.set(key, digest);
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
      return digest;
    } finally {
      await file.close();
    }
  }
}
