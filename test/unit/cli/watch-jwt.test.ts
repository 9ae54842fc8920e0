import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it, mock } from 'node:test';
import { refreshJwtSvids } from '../../../src/cli/commands/watch/jwt-svid-refresh.js';
import type { JwtSvid } from '../../../src/workload/jwt-response.js';

const svid = (spiffeId: string, hint: string, token: string, expiresAt: number): JwtSvid => ({ spiffeId, hint, token, audience: ['billing'], expiresAt: new Date(expiresAt), claims: {} });

describe('sigil api watch: JWT-SVID files are fetched again at half their remaining life', () => {
  beforeEach(() => mock.timers.enable({ apis: ['setTimeout'], now: 0 }));
  afterEach(() => mock.timers.reset());

  const flush = async () => {
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };

  it('asks for the audience and extra audiences of each file, for the chosen SPIFFE ID, and refreshes at half-life', async () => {
    const calls: [string[], string | undefined][] = [];
    let n = 0;
    const source = {
      fetchJwtSvids: (audience: string[], spiffeId?: string) => {
        calls.push([audience, spiffeId]);
        n++;
        return Promise.resolve([svid('spiffe://example.org/edge', '', `token-${n}`, Date.now() + 300_000)]);
      },
    };
    const tokens: string[] = [];
    const stop = refreshJwtSvids(source, [{ audience: 'billing', extraAudiences: ['audit'], fileName: 'billing.jwt' }], { spiffeId: 'spiffe://example.org/edge' }, (file, token) => tokens.push(`${file}=${token}`), () => undefined, Date.now);
    await flush();
    assert.deepEqual(calls, [[['billing', 'audit'], 'spiffe://example.org/edge']]);
    assert.deepEqual(tokens, ['billing.jwt=token-1']);
    mock.timers.tick(149_999);
    await flush();
    assert.equal(calls.length, 1, 'not before half of the remaining 300 s');
    mock.timers.tick(1);
    await flush();
    assert.deepEqual(tokens, ['billing.jwt=token-1', 'billing.jwt=token-2']);
    stop();
  });

  it('chooses by hint, and retries a failure after 5 s, saying why', async () => {
    let fail = true;
    const source = {
      fetchJwtSvids: () => (fail ? Promise.reject(new Error('rpc error: code = Unavailable')) : Promise.resolve([svid('spiffe://example.org/a', 'a', 'token-a', 600_000), svid('spiffe://example.org/b', 'b', 'token-b', 600_000)])),
    };
    const tokens: string[] = [];
    const said: string[] = [];
    const stop = refreshJwtSvids(source, [{ audience: 'x', extraAudiences: [], fileName: 'x.jwt' }], { hint: 'b' }, (_file, token) => tokens.push(token), (line) => said.push(line), Date.now);
    await flush();
    assert.deepEqual(said, ['JWT-SVID for x (x.jwt): rpc error: code = Unavailable (retrying in 5s)']);
    fail = false;
    mock.timers.tick(5_000);
    await flush();
    assert.deepEqual(tokens, ['token-b']);
    stop();
  });
});
