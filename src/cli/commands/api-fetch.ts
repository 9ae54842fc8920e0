import { group, leaf } from '../command.js';
import { formatFields, outputFormat, printJson, printText } from '../output.js';
import { apiOutputFlag, socketFlag, timeoutFlag, timeoutMs, workloadClientFromFlags } from './api-socket.js';
import { rfc3339, writeSvidFiles } from './api-svid-files.js';
import type { WorkloadApiClient } from '../../workload/workload-client.js';

async function withClient<T>(client: WorkloadApiClient, use: (client: WorkloadApiClient) => Promise<T>): Promise<T> {
  try {
    return await use(client);
  } finally {
    client.close();
  }
}

const fetchX509 = leaf({
  name: 'x509',
  summary: 'Fetch the X509-SVIDs of this process from the Workload API (like spire-agent api fetch x509)',
  flags: {
    socket: socketFlag,
    write: { type: 'string', valueName: 'DIR', description: 'write the default SVID to DIR: svid.pem (chain), svid.key (mode 0600) and bundle.pem' },
    timeout: timeoutFlag,
    output: apiOutputFlag,
  },
  async run(flags) {
    const started = performance.now();
    const set = await withClient(await workloadClientFromFlags(flags), (client) => client.fetchX509Svids({ timeoutMs: timeoutMs(flags) }));
    const elapsedMs = Math.round(performance.now() - started);
    const dir = flags.string('write');
    const files = dir === undefined ? undefined : await writeSvidFiles(dir, set.svids[0]!);
    const svids = set.svids.map((svid) => ({ spiffe_id: svid.spiffeId, serial: svid.serial, expires_at: rfc3339(svid.notAfter), hint: svid.hint }));

    if (outputFormat(flags) === 'json') {
      printJson({ svids, federated_trust_domains: [...set.federatedBundles.keys()], ...(files && { files }) });
      return 0;
    }
    const blocks = svids.map((svid) => formatFields([['SPIFFE ID', svid.spiffe_id], ['Serial', svid.serial], ['Expires', svid.expires_at], ['Hint', svid.hint]]));
    const head = `Received ${svids.length} ${svids.length === 1 ? 'SVID' : 'SVIDs'} after ${elapsedMs}ms`;
    const written = files ? [`Wrote ${files.svid_file}, ${files.key_file} and ${files.bundle_file}`] : [];
    printText([head, ...blocks, ...written].join('\n\n'));
    return 0;
  },
});

const fetchJwt = leaf({
  name: 'jwt',
  summary: 'Fetch JWT-SVIDs for an audience from the Workload API (like spire-agent api fetch jwt)',
  flags: {
    audience: { type: 'string', multiple: true, required: true, valueName: 'AUD', description: 'audience of the token; commas separate several, as in SPIRE' },
    'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', description: 'only the SVID of this SPIFFE ID (default: every identity of this process)' },
    socket: socketFlag,
    timeout: timeoutFlag,
    output: apiOutputFlag,
  },
  async run(flags) {
    const audience = flags.strings('audience').flatMap((value) => value.split(',')).filter((value) => value !== '');
    const spiffeId = flags.string('spiffe-id');
    const svids = await withClient(await workloadClientFromFlags(flags), (client) => client.fetchJwtSvids(audience, spiffeId, { timeoutMs: timeoutMs(flags) }));
    if (outputFormat(flags) === 'json') {
      printJson({ svids: svids.map((svid) => ({ spiffe_id: svid.spiffeId, token: svid.token, audience: svid.audience, expires_at: rfc3339(svid.expiresAt), hint: svid.hint })) });
    } else {
      printText(svids.map((svid) => `token(${svid.spiffeId}):\n\t${svid.token}`).join('\n'));
    }
    return 0;
  },
});

const fetchBundles = leaf({
  name: 'bundles',
  summary: 'Fetch the X.509 trust bundles from the Workload API, PEM per trust domain',
  flags: { socket: socketFlag, timeout: timeoutFlag, output: apiOutputFlag },
  async run(flags) {
    const set = await withClient(await workloadClientFromFlags(flags), (client) => client.fetchX509Bundles({ timeoutMs: timeoutMs(flags) }));
    const { certificatesPem } = await import('../../workload/svid-pem.js');
    const bundles = [...set.bundles.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([trustDomain, ders]) => [`spiffe://${trustDomain}`, certificatesPem(ders)] as const);
    if (outputFormat(flags) === 'json') printJson({ bundles: Object.fromEntries(bundles) });
    // Text outside BEGIN/END lines is ignored by PEM readers, so the output is still a usable CA file.
    else printText(bundles.map(([id, pem]) => `# ${id}\n${pem}`).join('\n'));
    return 0;
  },
});

export const apiFetchCommands = group('fetch', 'Fetch SVIDs and bundles from the Workload API', [fetchX509, fetchJwt, fetchBundles]);
