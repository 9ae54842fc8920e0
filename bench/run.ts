// `npm run bench [-- NAME ...]`: measured side by side with a baseline in the same run. Tables go
// to stdout and, with the machine and date, to bench/results/NAME.json; docs/benchmarks.md records
// a run. Never used as assertions in tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { benchmarks } from './suite.js';

const resultsDir = fileURLToPath(new URL('../../bench/results/', import.meta.url));

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const unknown = only.filter((name) => !(name in benchmarks));
  if (unknown.length) throw new Error(`unknown benchmark ${unknown.join(', ')} (known: ${Object.keys(benchmarks).join(', ')})`);
  mkdirSync(resultsDir, { recursive: true });
  const machine = { cores: availableParallelism(), cpu: cpus()[0]?.model ?? 'unknown', memory_gib: Math.round(totalmem() / 2 ** 30), node: process.version };
  for (const [name, benchmark] of Object.entries(benchmarks)) {
    if (only.length && !only.includes(name)) continue;
    const started = new Date();
    const lines = await benchmark.run();
    console.log(lines.join('\n'));
    const environment = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('BENCH_')));
    writeFileSync(`${resultsDir}${name}.json`, `${JSON.stringify({ benchmark: name, date: started.toISOString(), seconds: (Date.now() - started.getTime()) / 1000, machine, environment, table: lines }, null, 2)}\n`);
  }
}

await main();
