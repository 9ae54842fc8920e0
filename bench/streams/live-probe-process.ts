// A liveness probe of the streams benchmark, in a process of its own so that neither the server's
// work nor the clients' delays its requests: one /live request after the other, as a probe would.
import { setTimeout as delay } from 'node:timers/promises';
import { serveParent } from './ipc.js';

let running = false;
let slowest = 0;
let loop: Promise<void> = Promise.resolve();

serveParent({
  async start(args: { healthAddress: string }) {
    running = true;
    slowest = 0;
    loop = (async () => {
      while (running) {
        const start = performance.now();
        const res = await fetch(`http://${args.healthAddress}/live`, { signal: AbortSignal.timeout(60_000) });
        await res.body?.cancel();
        slowest = Math.max(slowest, performance.now() - start);
        await delay(10);
      }
    })();
  },
  /** The slowest answer since start. */
  async stop() {
    running = false;
    await loop;
    return slowest;
  },
  async exit() {
    setImmediate(() => process.exit(0));
  },
});
