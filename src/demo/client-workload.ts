/**
 * The demo's client: GETs the web server over mTLS every `--every` ms, each on a new connection
 * with its current SVID, and accepts only the web server's SPIFFE ID. Once the agent takes its
 * SVID away it keeps trying, and also tries with a copy of the SVID it had, as a thief who stole
 * the key would: that copy must stop working when it is revoked. Run by the demo runner.
 *   node client-workload.js --hint client --url https://127.0.0.1:PORT/ --expect spiffe://td/demo/web --every 200
 */
import { createSecureContext, type TLSSocket } from 'node:tls';
import { request } from 'node:https';
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { serverIdentityCheck, tlsOptionsForSvid, type X509Bundles } from '../workload/tls-identity.js';
import { NoSvidError, spiffeClientTlsOptions, type SpiffeConnectionOptions } from '../workload/mtls/index.js';
import type { X509Svid } from '../workload/x509-response.js';
import { reportEvent, type RequestOutcome } from './workload-events.js';
import { openWorkloadIdentity } from './workload-identity.js';

const { values } = parseArgs({ options: { hint: { type: 'string' }, url: { type: 'string' }, expect: { type: 'string' }, every: { type: 'string', default: '200' } } });
if (!values.hint || !values.url || !values.expect) throw new Error('usage: client-workload --hint HINT --url URL --expect SPIFFE_ID [--every MS]');
const url = values.url;
const expectedServer = values.expect;
const intervalMs = Number(values.every);

const requestTimeoutMs = 2000;

function get(tlsOptions: SpiffeConnectionOptions): Promise<RequestOutcome> {
  return new Promise((resolve) => {
    const req = request(url, { ...tlsOptions, agent: false, timeout: requestTimeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body, serverSerial: serialOfPeer(res.socket as TLSSocket) }));
      res.on('error', (err) => resolve({ ok: false, stage: 'tls', error: err.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${requestTimeoutMs} ms`)));
    req.on('error', (err) => resolve({ ok: false, stage: 'tls', error: err.message }));
    req.end();
  });
}

function serialOfPeer(socket: TLSSocket): string {
  return socket.getPeerCertificate().serialNumber.toLowerCase();
}

/** What a thief holding a copy of the SVID and its key would send: no Workload API involved. */
function stolenCopyOptions(svid: X509Svid, bundles: X509Bundles): SpiffeConnectionOptions {
  return { secureContext: createSecureContext(tlsOptionsForSvid(svid, bundles)), rejectUnauthorized: true, checkServerIdentity: serverIdentityCheck(expectedServer, bundles) };
}

const { client, source, context } = await openWorkloadIdentity(values.hint);
let lastSvid: X509Svid | undefined = source.svid;
let stolen: { svid: X509Svid; bundles: X509Bundles } | undefined;
let running = true;
process.once('SIGTERM', () => {
  running = false;
});

while (running) {
  const startedAt = Date.now();
  const svid = source.svid;
  let tlsOptions: SpiffeConnectionOptions | undefined;
  let refusal = '';
  try {
    tlsOptions = spiffeClientTlsOptions(context, { authorize: expectedServer });
  } catch (err) {
    if (!(err instanceof NoSvidError)) throw err;
    refusal = err.message;
  }
  if (tlsOptions && svid) {
    lastSvid = svid;
    const outcome = await get(tlsOptions);
    reportEvent({ type: 'request', at: Date.now(), startedAt, stolen: false, clientSerial: svid.serial, outcome });
  } else {
    reportEvent({ type: 'request', at: Date.now(), startedAt, stolen: false, outcome: { ok: false, stage: 'local', error: refusal } });
    stolen ??= lastSvid && { svid: lastSvid, bundles: source.bundles };
    if (stolen) {
      const stolenStart = Date.now();
      const outcome = await get(stolenCopyOptions(stolen.svid, stolen.bundles));
      reportEvent({ type: 'request', at: Date.now(), startedAt: stolenStart, stolen: true, clientSerial: stolen.svid.serial, outcome });
    }
  }
  await delay(Math.max(0, intervalMs - (Date.now() - startedAt)));
}
client.close();
