/**
 * At most `limit` tasks run at once; the others wait in arrival order. The agent attests each new
 * Workload API call by reading /proc and /etc: 10,000 streams opened together made 10,000 sets of
 * reads at once, and the agent ran out of file descriptors (EMFILE), refusing callers at random.
 */
export class ConcurrencyLimit {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(readonly limit: number) {
    if (!Number.isInteger(limit) || limit < 1) throw new Error(`a concurrency limit must be a positive integer, got ${limit}`);
  }

  /** Tasks running now, and waiting. */
  get load(): { running: number; waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.running >= this.limit) await new Promise<void>((start) => this.waiting.push(start));
    else this.running++;
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      // The slot passes straight to the next task, so `running` never dips below the limit while tasks wait.
      if (next) next();
      else this.running--;
    }
  }
}
