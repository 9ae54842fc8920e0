/** The part of a gRPC server stream that writes (grpc-js streams are object-mode Writables). */
export interface MessageSink<M> {
  write(message: M, done: (err?: Error | null) => void): boolean;
}

/**
 * Writes full-state messages (WL-21, SDS state of the world) so that a slow reader never makes
 * the agent queue copies: one message is on its way at a time, and what comes meanwhile waits in
 * a single slot where the newest replaces the older, to be written once the stream took the
 * previous one. Skipping states in between loses nothing, as each message is the whole state.
 *
 * grpc-js only says "full" (write() returns false) after 16 queued messages, so waiting for
 * 'drain' would still let 16 copies pile up per stream; the write callback comes once the message
 * was handed to HTTP/2, which holds it while the reader's flow-control window is closed.
 */
export class LatestMessageWriter<M> {
  private writing = false;
  private waiting: { message: M } | undefined;
  private failed = false;
  private stuckTimer: NodeJS.Timeout | undefined;

  /**
   * `onStuck` is called once when a newer state has waited `stuckAfterMs` behind a message the
   * reader has not taken: the caller ends such a stream (a client that stopped reading holds
   * agent memory and a connection for nothing).
   */
  constructor(
    private readonly sink: MessageSink<M>,
    private readonly stuck?: { afterMs: number; onStuck: () => void },
  ) {}

  write(message: M): void {
    if (this.failed) return;
    if (this.writing) {
      this.waiting = { message };
      if (this.stuck && !this.stuckTimer) {
        const { afterMs, onStuck } = this.stuck;
        this.stuckTimer = setTimeout(() => {
          this.failed = true;
          onStuck();
        }, afterMs);
        this.stuckTimer.unref();
      }
      return;
    }
    this.writing = true;
    this.sink.write(message, (err) => {
      this.writing = false;
      if (this.stuckTimer) clearTimeout(this.stuckTimer);
      this.stuckTimer = undefined;
      // The stream is gone (cancelled or ended): nothing more will be taken.
      if (err) this.failed = true;
      const next = this.waiting;
      this.waiting = undefined;
      if (next) this.write(next.message);
    });
  }

  /** Stop the stuck timer (the stream ended). */
  close(): void {
    this.failed = true;
    if (this.stuckTimer) clearTimeout(this.stuckTimer);
    this.stuckTimer = undefined;
  }

  /** A message is waiting behind one on its way (for tests and metrics). */
  get backlogged(): boolean {
    return this.waiting !== undefined;
  }
}
