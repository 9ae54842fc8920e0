import type { Store } from '../../store/store.js';

interface Job {
  work: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * Commits issuance work in groups: every job queued in the same turn of the event loop runs in
 * one transaction, each in a savepoint of its own, so that a job that throws (a join token
 * already used) is rolled back alone. A job's promise settles only after the transaction that
 * holds it has committed: nothing is handed out before its row is written. One commit per group
 * instead of one per SVID is what lets SQLite keep up with signing.
 */
export class GroupCommitter {
  private queue: Job[] = [];
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly maxGroup = 1000,
  ) {}

  run(work: () => void): Promise<void> {
    return new Promise((resolve, reject) => {
      this.queue.push({ work, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const group = this.queue.splice(0, this.maxGroup);
    if (this.queue.length) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    const failures = new Map<Job, unknown>();
    try {
      this.store.transaction(() => {
        for (const job of group) {
          try {
            this.store.transaction(job.work);
          } catch (err) {
            failures.set(job, err);
          }
        }
      });
    } catch (err) {
      for (const job of group) job.reject(err);
      return;
    }
    for (const job of group) {
      if (failures.has(job)) job.reject(failures.get(job));
      else job.resolve();
    }
  }
}
