// Where a process's time went, from the V8 CPU profiles that BENCH_PROFILE_DIR makes the benchmark
// processes write: `node dist/bench/profile-summary.js DIR/*.cpuprofile`. Prints, per profile
// (one per thread), the share of samples by group (idle, GC, SQLite, crypto, ...) and the
// functions with the most self time. docs/benchmarks.md quotes its output.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Coarse groups by the self frame's function and file; the first match wins. */
const groups: [string, (fn: string, url: string) => boolean][] = [
  ['idle (waiting for work)', (fn) => fn === '(idle)'],
  ['garbage collection', (fn) => fn === '(garbage collector)'],
  ['SQLite (statements and commits)', (_fn, url) => /better-sqlite3|\/store\//.test(url)],
  ['public key import (CSR)', (fn) => /getKeyObjectHandleFromJwk|prepareAsymmetricKey|createPublicKey/.test(fn)],
  ['signature jobs (sign / verify dispatch)', (fn) => /signOneShot|verifyOneShot/.test(fn)],
  ['certificate parsing (node:crypto X509Certificate)', (_fn, url) => /crypto\/x509/.test(url)],
  ['other node:crypto', (_fn, url) => /node:internal\/crypto/.test(url)],
  ['DER encoding and parsing (src/pki)', (_fn, url) => /\/src\/pki\//.test(url)],
  ['gRPC and protobuf', (_fn, url) => /grpc-js|protobufjs|@grpc/.test(url)],
  ['HTTP (express, body parsing)', (_fn, url) => /express|body-parser|raw-body|router|node:_http|node:internal\/http/.test(url)],
  ['buffers', (_fn, url) => /node:buffer|internal\/buffer/.test(url)],
  ['files (e.g. the agent SVID store on disk)', (fn, url) => /node:fs|internal\/fs/.test(url) || (url === '' && /^(openFileHandle|writeBuffer|writeString|rename|close|fsync|open|unlink)$/.test(fn))],
  ['V8 itself (compiling, runtime)', (fn) => fn === '(program)'],
  ['Sigil server and agent code', (_fn, url) => /\/src\/(server|agent|common|spiffe)\//.test(url)],
];

function summarize(path: string): string[] {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    total += dt;
  });
  const byGroup = new Map<string, number>();
  const byFunction = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const frame = (nodes.get(id) as ProfileNode).callFrame;
    const fn = frame.functionName || '(anonymous)';
    const group = groups.find(([, test]) => test(fn, frame.url))?.[0] ?? 'other';
    byGroup.set(group, (byGroup.get(group) ?? 0) + us);
    const where = frame.url ? `${frame.url.replace(/^.*\/(node_modules|dist)\//, '').replace(/^file:\/\//, '')}:${frame.lineNumber + 1}` : 'native';
    byFunction.set(`${fn} (${where})`, (byFunction.get(`${fn} (${where})`) ?? 0) + us);
  }
  const share = (us: number) => `${((100 * us) / total).toFixed(1)} %`;
  const sorted = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]);
  return [
    `#### ${basename(path)}: ${(total / 1e6).toFixed(1)} s sampled`,
    '',
    '| where the time went | share |',
    '|---|---:|',
    ...sorted(byGroup).map(([group, us]) => `| ${group} | ${share(us)} |`),
    '',
    '| function (self time) | share |',
    '|---|---:|',
    ...sorted(byFunction)
      .filter(([name]) => !name.startsWith('(idle)'))
      .slice(0, 12)
      .map(([name, us]) => `| \`${name}\` | ${share(us)} |`),
    '',
  ];
}

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error('usage: node dist/bench/profile-summary.js PROFILE.cpuprofile ...');
  process.exit(2);
}
for (const file of files) console.log(summarize(file).join('\n'));
