import { lookup as dnsLookup } from 'node:dns';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { classifyAddress, classifyHost, refusal, type DestinationPolicy } from './destination-policy.js';

export type SendResult =
  | { kind: 'answered'; httpStatus: number; bodyExcerpt: string }
  | { kind: 'failed'; error: string }
  /** Stopped by shutdown: nothing is known about this attempt, so it is not recorded. */
  | { kind: 'aborted' };

export interface SendOptions {
  timeoutMs: number;
  policy: DestinationPolicy;
  signal: AbortSignal;
}

const maxExcerpt = 200;

/**
 * Resolve names ourselves and refuse the connection when any address is one the policy refuses:
 * checking the URL when it is saved is not enough, since DNS can later point the name elsewhere.
 */
export function guardedLookup(policy: DestinationPolicy): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) {
        callback(err, '');
        return;
      }
      for (const { address } of addresses) {
        const why = refusal(`${hostname} resolves to ${address}, which`, classifyAddress(address), policy);
        if (why) {
          callback(Object.assign(new Error(why), { code: 'EWEBHOOKDESTINATION' }), '');
          return;
        }
      }
      const first = addresses[0];
      if (options.all) callback(null, addresses);
      else if (first) callback(null, first.address, first.family);
      else callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), '');
    });
  };
}

/**
 * POST one webhook. Only the status line counts: 2xx is an acknowledgement, anything else (3xx
 * included: redirects are not followed) is a failure, and so is no answer within the timeout.
 * The timeout is real time on purpose: it bounds a real socket, which a test clock cannot move.
 */
export function postWebhook(url: string, headers: Record<string, string>, body: Buffer, options: SendOptions): Promise<SendResult> {
  const target = new URL(url);
  const literal = classifyHost(target.hostname);
  const refused = literal === undefined ? undefined : refusal(`host ${target.hostname}`, literal, options.policy);
  if (refused) return Promise.resolve({ kind: 'failed', error: refused });
  if (options.signal.aborted) return Promise.resolve({ kind: 'aborted' });

  return new Promise((resolve) => {
    const request = (target.protocol === 'https:' ? httpsRequest : httpRequest)(target, {
      method: 'POST',
      headers: { ...headers, 'content-length': String(body.length) },
      agent: false,
      lookup: guardedLookup(options.policy),
    });
    let settled = false;
    const finish = (result: SendResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal.removeEventListener('abort', onAbort);
      request.destroy();
      resolve(result);
    };
    let answeredStatus: number | undefined;
    let excerpt = '';
    const onAbort = () => finish({ kind: 'aborted' });
    const onTimeout = () =>
      finish(answeredStatus === undefined ? { kind: 'failed', error: `no answer within ${options.timeoutMs} ms` } : { kind: 'answered', httpStatus: answeredStatus, bodyExcerpt: excerpt });
    const timer = setTimeout(onTimeout, options.timeoutMs);
    options.signal.addEventListener('abort', onAbort, { once: true });

    request.on('response', (response) => {
      const httpStatus = response.statusCode ?? 0;
      answeredStatus = httpStatus;
      response.on('error', () => undefined);
      if (httpStatus >= 200 && httpStatus < 300) {
        finish({ kind: 'answered', httpStatus, bodyExcerpt: '' });
        return;
      }
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        excerpt += chunk;
        if (excerpt.length >= maxExcerpt) finish({ kind: 'answered', httpStatus, bodyExcerpt: excerpt.slice(0, maxExcerpt) });
      });
      response.on('end', () => finish({ kind: 'answered', httpStatus, bodyExcerpt: excerpt }));
    });
    request.on('error', (err: NodeJS.ErrnoException) => finish({ kind: 'failed', error: err.message || err.code || String(err) }));
    request.end(body);
  });
}
