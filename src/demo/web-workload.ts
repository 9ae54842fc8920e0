/**
 * The demo's web server: an HTTPS server that admits only the demo client's SPIFFE ID, with its
 * SVID from the Workload API. Run by the demo runner; reports on stdout (workload-events.ts).
 *   node web-workload.js --hint web --admit spiffe://td/demo/client
 */
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { createSpiffeHttpsServer } from '../workload/mtls/index.js';
import { reportEvent } from './workload-events.js';
import { openWorkloadIdentity } from './workload-identity.js';

const { values } = parseArgs({ options: { hint: { type: 'string' }, admit: { type: 'string' } } });
if (!values.hint || !values.admit) throw new Error('usage: web-workload --hint HINT --admit SPIFFE_ID');
const admit = values.admit;

const { client, context } = await openWorkloadIdentity(values.hint);
const { server, spiffe } = createSpiffeHttpsServer(context, { authorize: admit }, (_request, response, peer) => {
  response.setHeader('content-type', 'text/plain');
  response.end(`hello ${peer.toString()}`);
});
spiffe.onRejected(({ error }) => reportEvent({ type: 'rejected', at: Date.now(), reason: error.message }));
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  reportEvent({ type: 'listening', at: Date.now(), url: `https://127.0.0.1:${port}/`, admits: admit });
});

process.once('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  client.close();
});
