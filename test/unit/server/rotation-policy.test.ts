import assert from 'node:assert/strict';
import { test } from 'node:test';
import { activateThresholdMs, prepareThresholdMs, rotationStep } from '../../../src/server/ca/rotation-policy.js';
import type { Authority } from '../../../src/store/authorities.js';

const day = 86_400_000;
const authority = (notBefore: number, notAfter: number, state: Authority['state'] = 'active'): Authority => ({
  id: `a-${notBefore}-${state}`,
  kind: 'x509',
  state,
  keyAlgorithm: 'ec-p256',
  certificateDer: null,
  upstreamChainDer: [],
  bundleCertDer: null,
  publicKeyJwk: null,
  upstream: false,
  notBefore,
  notAfter,
  createdAt: notBefore,
  activatedAt: null,
  taintedAt: null,
  revokedAt: null,
});

test('thresholds: prepare at min(lifetime/2, 30 d), activate at min(lifetime/6, 7 d)', () => {
  const cases: [number, number, number][] = [
    [60_000, 30_000, 10_000],
    [6 * day, 3 * day, day],
    [90 * day, 30 * day, 7 * day],
    [365 * day, 30 * day, 7 * day],
  ];
  for (const [lifetime, prepare, activate] of cases) {
    assert.equal(prepareThresholdMs(lifetime), prepare, `prepare for ${lifetime}`);
    assert.equal(activateThresholdMs(lifetime), activate, `activate for ${lifetime}`);
  }
});

test('rotation steps over an authority\'s life (CA TTL 60 s)', () => {
  const active = authority(0, 60_000);
  const prepared = authority(25_000, 85_000, 'prepared');
  const rows: [string, number, Authority | undefined, Authority | undefined, string][] = [
    ['no authority at all', 0, undefined, undefined, 'create-active'],
    ['fresh', 1_000, active, undefined, 'none'],
    ['just before the prepare point', 29_999, active, undefined, 'none'],
    ['at the prepare point', 30_000, active, undefined, 'prepare'],
    ['prepared already', 40_000, active, prepared, 'none'],
    ['at the activation point with a successor', 50_000, active, prepared, 'activate'],
    ['at the activation point without one (prepare failed)', 50_000, active, undefined, 'prepare'],
    ['expired with a valid successor', 61_000, active, prepared, 'activate'],
    ['expired and nothing prepared (long downtime)', 61_000, active, undefined, 'create-active'],
    ['expired and the prepared one expired too', 90_000, active, prepared, 'create-active'],
  ];
  for (const [name, now, a, p, expected] of rows) assert.equal(rotationStep(a, p, now), expected, name);
});
