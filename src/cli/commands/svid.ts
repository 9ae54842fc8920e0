import type { presentSvid } from '../../server/api/present.js';
import { parseDurationSeconds } from '../../common/duration.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
import type { FlagValues } from '../flag-values.js';
import { formatFields, formatFound, outputFormat, printJson, printText } from '../output.js';

type SvidJson = ReturnType<typeof presentSvid>;

/** An RFC 3339 time as given, or a duration from now ("1h") turned into one. */
function expiringBefore(flags: FlagValues): string | undefined {
  const value = flags.string('expiring-before');
  if (value === undefined) return undefined;
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && Number.isFinite(Date.parse(value))) return value;
  const seconds = parseDurationSeconds(value);
  if (seconds === undefined) throw flags.invalid('expiring-before', value, 'must be an RFC 3339 time (2030-01-02T15:04:05Z) or a duration from now (1h)');
  return new Date(Date.now() + seconds * 1000).toISOString();
}

function formatSvid(svid: SvidJson): string {
  return formatFields([
    ['Serial', svid.serial],
    ['SPIFFE ID', svid.spiffe_id],
    ['Kind', svid.kind],
    ['Entry ID', svid.entry_id],
    ['Agent ID', svid.agent_id],
    ['Not before', svid.not_before],
    ['Expires at', svid.not_after],
    ['Revoked at', svid.revoked_at],
    ['Revocation reason', svid.revocation_reason],
  ]);
}

const list = leaf({
  name: 'list',
  summary: 'List issued SVIDs (all pages)',
  flags: {
    'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', description: 'only SVIDs of this SPIFFE ID' },
    'entry-id': { type: 'string', valueName: 'ID', spireName: 'entryID', description: 'only SVIDs issued for this entry' },
    'agent-id': { type: 'string', valueName: 'ID', description: 'only SVIDs issued through this agent' },
    kind: { type: 'string', choices: ['workload', 'agent', 'mint'], description: 'only SVIDs of this kind' },
    'expiring-before': { type: 'string', valueName: 'TIME', description: 'only SVIDs that expire before TIME: RFC 3339, or a duration from now like 1h' },
    valid: { type: 'boolean', description: 'only SVIDs that are valid now (not expired, not revoked)' },
    ...clientFlags,
  },
  async run(flags) {
    const client = await adminClient(flags);
    const svids = await client.listAll<SvidJson>('/v1/svids', 'svids', {
      spiffe_id: flags.string('spiffe-id'),
      entry_id: flags.string('entry-id'),
      agent_id: flags.string('agent-id'),
      kind: flags.string('kind'),
      expiring_before: expiringBefore(flags),
      valid: flags.boolean('valid') ? 'true' : undefined,
    });
    if (outputFormat(flags) === 'json') printJson({ svids });
    else printText(formatFound(svids.map(formatSvid), 'SVID', 'SVIDs'));
    return 0;
  },
});

export const svidCommands = group('svid', 'Inspect issued SVIDs', [list]);
