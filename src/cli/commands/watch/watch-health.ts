/** `/live` and `/ready` of the watcher itself, so that an orchestrator can wait until the files are current. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HealthSetting } from './watch-config.js';

export interface Readiness {
  ready: boolean;
  reason: string;
}

export async function startWatchHealth(setting: HealthSetting, readiness: () => Readiness): Promise<{ address: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    let status = 404;
    let body: object = { error: 'not found' };
    if (path === setting.livenessPath) [status, body] = [200, { status: 'live' }];
    else if (path === setting.readinessPath) {
      const state = readiness();
      [status, body] = [state.ready ? 200 : 503, { status: state.ready ? 'ready' : 'not ready', reason: state.reason }];
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(`${JSON.stringify(body)}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(setting.port, setting.host, () => resolve());
  });
  const { address, port } = server.address() as AddressInfo;
  return {
    address: `${address.includes(':') ? `[${address}]` : address}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
