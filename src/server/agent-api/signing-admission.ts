/**
 * Admission for agents' CSR batches. At most `maxInFlight` CSRs are being signed at once; further
 * batches wait in arrival order. After a CA taint every agent asks for everything together; a
 * call that waits past its deadline has its SVIDs signed, recorded and thrown away, then asked
 * for again. So a batch is refused at once (the caller answers ResourceExhausted and the agent
 * retries with backoff) when, at the signing rate measured over the last seconds, it would not be
 * done well before its deadline (before a rate is known: past `maxQueuedUnmeasured` waiting CSRs),
 * and in any case past `maxQueued` (memory).
 * Four batches of 500 in flight keep the CSR threads, the signing pool and the group commit
 * busy side by side (with two, each stage waited on the others).
 */
/** The signing rate is measured over this much of the recent past, in buckets of rateBucketMs. */
const rateWindowMs = 5_000;
const rateBucketMs = 250;
/** A batch must be expected done within this share of the time its call has left. */
const deadlineShare = 0.5;

export class SigningAdmission {
  private inFlight = 0;
  private queued = 0;
  private readonly waiting: { count: number; admitted: (release: () => void) => void }[] = [];
  /** CSRs finished per rate window, newest last: [window start (ms), count]. */
  private readonly finished: [number, number][] = [];

  constructor(
    readonly maxInFlight = 2000,
    readonly maxQueued = 50_000,
    /** The queue limit until a rate is measured (a server just started cannot tell how long its queue takes). */
    readonly maxQueuedUnmeasured = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** CSRs signed per second over the last few seconds; undefined until something finished. */
  get rate(): number | undefined {
    this.forgetOldWindows();
    const total = this.finished.reduce((sum, [, count]) => sum + count, 0);
    if (total === 0) return undefined;
    const span = Math.max(1000, this.now() - (this.finished[0] as [number, number])[0]);
    return (total * 1000) / span;
  }

  /** CSRs being signed, and waiting to be. */
  get load(): { inFlight: number; queued: number } {
    return { inFlight: this.inFlight, queued: this.queued };
  }

  /**
   * Wait for room for `count` CSRs; resolves with the function that gives it back. Rejects with
   * OverloadedError when too much is already waiting, or when the batch would not be signed in
   * time for a call that ends at `deadline` (ms since the epoch).
   */
  admit(count: number, deadline?: number): Promise<() => void> {
    if (this.waiting.length === 0 && this.fits(count)) return Promise.resolve(this.take(count));
    if (this.queued + count > this.maxQueued || this.tooLateFor(count, deadline)) return Promise.reject(new OverloadedError(this.inFlight, this.queued, this.retryAfterMs(count)));
    this.queued += count;
    return new Promise((admitted) => this.waiting.push({ count, admitted }));
  }

  /** At the measured rate, everything ahead of the batch and the batch itself would take more than half the time the call has left. */
  private tooLateFor(count: number, deadline: number | undefined): boolean {
    const rate = this.rate;
    if (rate === undefined) return this.queued + count > this.maxQueuedUnmeasured;
    if (deadline === undefined) return false;
    const expectedMs = ((this.inFlight + this.queued + count) * 1000) / rate;
    return expectedMs > (deadline - this.now()) * deadlineShare;
  }

  /**
   * When a refused batch of `count` is worth sending again: once, at the measured rate, what is
   * ahead of it now is signed (at least 250 ms; 1 s while no rate is known). Told to the agent,
   * which otherwise backs off blindly and may sleep while the server idles.
   */
  private retryAfterMs(count: number): number {
    const rate = this.rate;
    if (rate === undefined) return 1000;
    const aheadMs = ((this.inFlight + this.queued + count) * 1000) / rate;
    return Math.max(250, Math.ceil(aheadMs * deadlineShare));
  }

  private recordFinished(count: number): void {
    const now = this.now();
    const newest = this.finished.at(-1);
    if (newest && now - newest[0] < rateBucketMs) newest[1] += count;
    else this.finished.push([now, count]);
    this.forgetOldWindows();
  }

  private forgetOldWindows(): void {
    const oldest = this.now() - rateWindowMs;
    while (this.finished.length && (this.finished[0] as [number, number])[0] < oldest) this.finished.shift();
  }

  /** A batch larger than maxInFlight still starts, once nothing else is in flight. */
  private fits(count: number): boolean {
    return this.inFlight === 0 || this.inFlight + count <= this.maxInFlight;
  }

  private take(count: number): () => void {
    this.inFlight += count;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.inFlight -= count;
      this.recordFinished(count);
      this.startWaiting();
    };
  }

  private startWaiting(): void {
    for (let next = this.waiting[0]; next && this.fits(next.count); next = this.waiting[0]) {
      this.waiting.shift();
      this.queued -= next.count;
      next.admitted(this.take(next.count));
    }
  }
}

export class OverloadedError extends Error {
  constructor(
    inFlight: number,
    queued: number,
    /** When to try again. */
    readonly retryAfterMs: number,
  ) {
    super(`the server is signing ${inFlight} CSRs with ${queued} more waiting; retry in ${(retryAfterMs / 1000).toFixed(1)} s`);
    this.name = 'OverloadedError';
  }
}
