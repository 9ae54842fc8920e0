/**
 * Admission for agents' CSR batches. At most `maxInFlight` CSRs are being signed at once; further
 * batches wait in arrival order. A batch that would wait behind more than `maxQueued` CSRs is
 * refused at once (the caller answers ResourceExhausted and the agent retries with backoff):
 * after a CA taint every agent asks for everything together, and a call that waits past its
 * deadline has its SVIDs signed, recorded and thrown away, then asked for again.
 * Four batches of 500 in flight keep the CSR threads, the signing pool and the group commit
 * busy side by side (with two, each stage waited on the others).
 */
export class SigningAdmission {
  private inFlight = 0;
  private queued = 0;
  private readonly waiting: { count: number; admitted: (release: () => void) => void }[] = [];

  constructor(
    readonly maxInFlight = 2000,
    readonly maxQueued = 10_000,
  ) {}

  /** CSRs being signed, and waiting to be. */
  get load(): { inFlight: number; queued: number } {
    return { inFlight: this.inFlight, queued: this.queued };
  }

  /**
   * Wait for room for `count` CSRs; resolves with the function that gives it back. Rejects with
   * OverloadedError when too much is already waiting.
   */
  admit(count: number): Promise<() => void> {
    if (this.waiting.length === 0 && this.fits(count)) return Promise.resolve(this.take(count));
    if (this.queued + count > this.maxQueued) return Promise.reject(new OverloadedError(this.inFlight, this.queued));
    this.queued += count;
    return new Promise((admitted) => this.waiting.push({ count, admitted }));
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
  constructor(inFlight: number, queued: number) {
    super(`the server is signing ${inFlight} CSRs with ${queued} more waiting; retry in a few seconds`);
    this.name = 'OverloadedError';
  }
}
