// Every benchmark by name, with the sizes docs/benchmarks.md reports and tiny ones for the smoke
// test (which only proves each still runs and prints its table; benchmarks are never assertions).
import { runAgentBenchmarks } from './agent.js';
import { runAgentScaleBenchmark } from './agent-scale.js';
import { runAuthorizationBenchmark } from './authorization.js';
import { runCrlBenchmark } from './crl.js';
import { runDevReissueBenchmark } from './dev-reissue.js';
import { runIssuanceBenchmark } from './issuance.js';
import { runMassReissueBenchmark } from './mass-reissue.js';
import { runRestVsCfsslBenchmark } from './rest-vs-cfssl.js';
import { runRotationBenchmark } from './rotation.js';
import { runSchedulerBenchmark } from './scheduler.js';
import { runStoreScaleBenchmark } from './store-scale.js';
import { runStreamsBenchmark } from './streams/benchmark.js';
import { runRotationAtScaleBenchmark } from './streams/rotation-at-scale.js';

export interface Benchmark {
  /** The full run (sizes from the environment where a benchmark reads them). */
  run(): Promise<string[]>;
  /** A run of a few seconds. */
  smoke(): Promise<string[]>;
}

export const benchmarks: Record<string, Benchmark> = {
  issuance: { run: () => runIssuanceBenchmark(), smoke: () => runIssuanceBenchmark(30) },
  rest: { run: () => runRestVsCfsslBenchmark(), smoke: () => runRestVsCfsslBenchmark(40) },
  agent: { run: () => runAgentBenchmarks(), smoke: () => runAgentBenchmarks({ trials: 3, samples: 20, cachedSvids: 20 }) },
  authorization: { run: () => runAuthorizationBenchmark(), smoke: () => runAuthorizationBenchmark(200, 5) },
  scheduler: { run: () => runSchedulerBenchmark(), smoke: () => runSchedulerBenchmark(5000) },
  rotation: { run: () => runRotationBenchmark(), smoke: () => runRotationBenchmark(3, 5) },
  crl: { run: () => runCrlBenchmark(), smoke: () => runCrlBenchmark([200]) },
  streams: { run: () => runStreamsBenchmark(), smoke: () => runStreamsBenchmark(20, 20, 1) },
  'rotation-at-scale': { run: () => runRotationAtScaleBenchmark(), smoke: () => runRotationAtScaleBenchmark(20, 2, 1) },
  'agent-scale': { run: () => runAgentScaleBenchmark(), smoke: () => runAgentScaleBenchmark(30, 2) },
  'mass-reissue': { run: () => runMassReissueBenchmark(), smoke: () => runMassReissueBenchmark(2, 20) },
  'dev-reissue': { run: () => runDevReissueBenchmark(), smoke: () => runDevReissueBenchmark(20) },
  'store-scale': { run: () => runStoreScaleBenchmark(), smoke: () => runStoreScaleBenchmark(300, 3000, 3) },
};
