/**
 * `npm run demo`: mTLS between two workloads that survives SVID rotation and fails after
 * revocation (docs/demo.md). Starts a Sigil server and agent in this process, unless
 * --server-addr points at running ones (the docker-compose `demo` service does).
 */
import { parseArgs } from 'node:util';
import { defaultDemoOptions, runDemo } from './demo.js';
import type { DemoSigil } from './demo-sigil.js';
import { connectToSigil } from './existing-sigil.js';
import { startLocalSigil } from './local-sigil.js';
import type { Separation } from './workload-plan.js';

const usage = `usage: node dist/src/demo/run.js [options]
  --ttl SECONDS        X509-SVID TTL of the demo's entries (default ${defaultDemoOptions.svidTtlSeconds})
  --rotations N        rotations of each SVID before the revocation (default ${defaultDemoOptions.rotations})
  --split auto|uid|hint  how the agent tells web from client (default auto: uid when root)
  --trust-domain TD    for the server this demo starts (default example.org)
Against a running server and agent instead:
  --server-addr HOST:PORT --token-file PATH --socket unix:///PATH [--agent-id SPIFFE_ID]`;

function positiveNumber(value: string, flag: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${flag} must be a positive number, got ${JSON.stringify(value)}`);
  return n;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      ttl: { type: 'string', default: String(defaultDemoOptions.svidTtlSeconds) },
      rotations: { type: 'string', default: String(defaultDemoOptions.rotations) },
      split: { type: 'string', default: 'auto' },
      'trust-domain': { type: 'string', default: 'example.org' },
      'server-addr': { type: 'string' },
      'token-file': { type: 'string' },
      socket: { type: 'string' },
      'agent-id': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    console.log(usage);
    return 0;
  }
  if (!['auto', 'uid', 'hint'].includes(values.split)) throw new Error(`--split must be auto, uid or hint, got ${JSON.stringify(values.split)}`);
  const options = {
    ...defaultDemoOptions,
    svidTtlSeconds: positiveNumber(values.ttl, '--ttl'),
    rotations: positiveNumber(values.rotations, '--rotations'),
    separation: values.split as Separation | 'auto',
    print: (line: string) => console.log(line),
  };
  console.log(`Sigil mTLS demo: web and client do mutual TLS with SVIDs from the Workload API, through ${options.rotations} rotations (TTL ${options.svidTtlSeconds}s); then the client's entry is deleted and its SVIDs revoked.\n`);
  let sigil: DemoSigil;
  if (values['server-addr']) {
    if (!values['token-file'] || !values.socket) throw new Error('--server-addr needs --token-file and --socket too');
    sigil = await connectToSigil({ adminAddress: values['server-addr'], tokenFile: values['token-file'], endpointSocket: values.socket, ...(values['agent-id'] && { agentSpiffeId: values['agent-id'] }) });
  } else {
    sigil = await startLocalSigil(values['trust-domain']);
  }
  try {
    const outcome = await runDemo(sigil, options);
    return outcome.failures.length === 0 ? 0 : 1;
  } finally {
    await sigil.close();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`demo failed: ${err instanceof Error ? err.message : String(err)}`);
    process.exit(1);
  },
);
