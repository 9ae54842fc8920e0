// Request/response over a forked child's IPC channel: the benchmark drives its agent and client
// processes step by step (open streams, mark, revoke, read the counters).
import type { ChildProcess } from 'node:child_process';

interface Request {
  id: number;
  op: string;
  args: unknown;
}

type Reply = { id: number; result: unknown } | { id: number; error: string };

export class ChildControl {
  private next = 0;
  private readonly waiting = new Map<number, { resolve(value: unknown): void; reject(err: Error): void }>();

  constructor(readonly child: ChildProcess) {
    child.on('message', (reply: Reply) => {
      const waiter = this.waiting.get(reply.id);
      this.waiting.delete(reply.id);
      if ('error' in reply) waiter?.reject(new Error(reply.error));
      else waiter?.resolve(reply.result);
    });
    child.once('exit', (code, signal) => {
      for (const waiter of this.waiting.values()) waiter.reject(new Error(`child exited (code ${code}, signal ${signal})`));
      this.waiting.clear();
    });
  }

  call<T>(op: string, args: unknown = {}): Promise<T> {
    const id = ++this.next;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.child.send({ id, op, args } satisfies Request);
    });
  }
}

/** The child's side: one handler per op; a handler's result or error goes back to the parent. */
export function serveParent(handlers: Record<string, (args: never) => Promise<unknown>>): void {
  process.on('message', (request: Request) => {
    const handler = handlers[request.op];
    if (!handler) {
      process.send?.({ id: request.id, error: `unknown op ${request.op}` } satisfies Reply);
      return;
    }
    handler(request.args as never).then(
      (result) => process.send?.({ id: request.id, result: result ?? null } satisfies Reply),
      (err: unknown) => process.send?.({ id: request.id, error: (err as Error).stack ?? String(err) } satisfies Reply),
    );
  });
}
