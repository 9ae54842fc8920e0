import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot, runProcess } from './sigil-process.js';

export type AsUidResult = { ok: true; spiffeIds: string[] } | { ok: false; code: number; details: string };

/**
 * The child's script: one call to a unix-socket gRPC API with a client made from the proto (the
 * Workload API with its security header, or the Delegated Identity API), printing the SPIFFE IDs
 * of the first answer or the error as one JSON line.
 */
const script = `import { createRequire } from 'node:module';
import { workloadApiService, delegatedIdentityService } from ${JSON.stringify(join(repoRoot, 'dist/src/common/grpc/protos.js'))};
const grpc = createRequire(${JSON.stringify(join(repoRoot, 'package.json'))})('@grpc/grpc-js');
const [socketPath, api, method, request] = process.argv.slice(2);
const Client = api === 'workload' ? workloadApiService() : delegatedIdentityService();
const client = new Client('unix://' + socketPath, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
if (api === 'workload') metadata.set('workload.spiffe.io', 'true');
const done = (result) => { process.stdout.write(JSON.stringify(result) + '\\n'); process.exit(0); };
const ids = (m) => (m.svids ?? m.x509_svids ?? []).map((s) => s.spiffe_id ?? (s.x509_svid ? 'spiffe://' + s.x509_svid.id.trust_domain + s.x509_svid.id.path : 'spiffe://' + s.id.trust_domain + s.id.path));
const fail = (e) => done({ ok: false, code: e.code, details: e.details ?? e.message });
setTimeout(() => done({ ok: false, code: -1, details: 'no answer within 8 s' }), 8000);
if (client[method].requestStream === false && client[method].responseStream === false) {
  client[method](JSON.parse(request), metadata, (e, m) => (e ? fail(e) : done({ ok: true, spiffeIds: ids(m) })));
} else {
  const stream = client[method](JSON.parse(request), metadata);
  stream.on('data', (m) => done({ ok: true, spiffeIds: ids(m) }));
  stream.on('error', fail);
}
`;

/**
 * One gRPC call from a child process running as `uid` (setpriv): the kernel's peer credentials
 * are the only identity the agent trusts, so a caller "from another user" has to be one.
 * `workDir` must be readable by that uid (the script is written there).
 */
export async function grpcCallAsUid(options: { uid: number; gid?: number; socketPath: string; api: 'workload' | 'delegated'; method: string; request?: object; workDir: string }): Promise<AsUidResult> {
  const path = join(options.workDir, 'grpc-call-as-uid.mjs');
  writeFileSync(path, script);
  chmodSync(path, 0o644);
  const gid = options.gid ?? options.uid;
  const res = await runProcess('setpriv', [`--reuid=${options.uid}`, `--regid=${gid}`, '--clear-groups', process.execPath, path, options.socketPath, options.api, options.method, JSON.stringify(options.request ?? {})], { timeoutMs: 20_000 });
  if (res.code !== 0) throw new Error(`the call as uid ${options.uid} did not run: ${res.stderr}`);
  return JSON.parse(res.stdout.trim().split('\n').pop() ?? '{}') as AsUidResult;
}
