/**
 * Runs `work` on pushed values one at a time, and only on the latest: a value pushed while `work`
 * runs replaces any value still waiting. A slow hook therefore never leaves a queue of stale
 * updates behind it (with a 60 s hook, the next write is the newest state, not the next one).
 */
export class LatestOnly<T> {
  private waiting: { value: T } | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;

  constructor(
    private readonly work: (value: T) => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  push(value: T): void {
    if (this.stopped) return;
    this.waiting = { value };
    this.running ??= this.drain();
  }

  /** True while a value is being worked on or waits. */
  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Resolves when nothing runs or waits. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** Drop what waits, run nothing more; resolves when the value being worked on is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.waiting = undefined;
    await this.running;
  }

  private async drain(): Promise<void> {
    while (this.waiting && !this.stopped) {
      const { value } = this.waiting;
      this.waiting = undefined;
      try {
        await this.work(value);
      } catch (err) {
        this.onError(err);
      }
    }
    this.running = undefined;
  }
}
