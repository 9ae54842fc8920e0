import type { RevocationReason } from '../../pki/crl.js';
import type { presentSvid } from '../../server/api/present.js';
import { parseDurationSeconds } from '../../common/duration.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
import { UsageError } from '../errors.js';
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
    ['Replaced at', svid.replaced_at],
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
    'authority-id': { type: 'string', valueName: 'ID', spireName: 'authorityID', description: 'only SVIDs signed by this X.509 authority' },
    valid: { type: 'boolean', description: 'only SVIDs that are valid now (not expired, not revoked), replaced ones included' },
    current: { type: 'boolean', description: 'only valid SVIDs that no newer one has replaced (what blocks `sigil authority revoke`)' },
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
      authority_id: flags.string('authority-id'),
      current: flags.boolean('current') ? 'true' : undefined,
    });
    if (outputFormat(flags) === 'json') printJson({ svids });
    else printText(formatFound(svids.map(formatSvid), 'SVID', 'SVIDs'));
    return 0;
  },
});

interface RevokeJson {
  revoked: string[];
  reason: RevocationReason;
  revoked_at: string;
  crls: { authority_id: string; crl_number: number; next_update: string }[];
}

/** Spelled out rather than imported: loading pki/ would slow every command. */
const reasons = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'privilegeWithdrawn'] as const satisfies readonly RevocationReason[];
// Fails to compile when pki/ gains a reason that is missing above.
const _everyReason: [Exclude<RevocationReason, (typeof reasons)[number]>] extends [never] ? true : never = true;

const selectorFlags = { serial: 'serial', 'spiffe-id': 'spiffe_id', 'entry-id': 'entry_id', 'agent-id': 'agent_id', 'authority-id': 'authority_id' } as const;

function formatRevoked(result: RevokeJson): string {
  if (result.revoked.length === 0) return 'No valid SVID matched: nothing was revoked';
  const head = `Revoked ${result.revoked.length} ${result.revoked.length === 1 ? 'SVID' : 'SVIDs'} (reason ${result.reason}):`;
  const crls = result.crls.map((c) => `CRL ${c.crl_number} of authority ${c.authority_id} published (next update ${c.next_update})`);
  return [head, ...result.revoked.map((serial) => `  ${serial}`), ...crls].join('\n');
}

const revoke = leaf({
  name: 'revoke',
  summary: 'Revoke X509-SVIDs by serial, SPIFFE ID, entry, agent or signing authority; the CRL is re-signed at once',
  flags: {
    serial: { type: 'string', valueName: 'HEX', description: 'the SVID with this serial number (hex, as sigil svid list or openssl x509 -serial print it)' },
    'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', description: 'every valid SVID of this SPIFFE ID' },
    'entry-id': { type: 'string', valueName: 'ID', spireName: 'entryID', description: 'every valid SVID issued for this entry' },
    'agent-id': { type: 'string', valueName: 'ID', description: 'every valid SVID issued to this agent, its own included' },
    'authority-id': { type: 'string', valueName: 'ID', spireName: 'authorityID', description: 'every valid SVID signed by this X.509 authority (what blocks `sigil authority revoke`)' },
    // Not `choices`: help would print all seven in the flag column.
    reason: { type: 'string', valueName: 'REASON', description: `RFC 5280 revocation reason: ${reasons.join(', ')} (default: unspecified)` },
    ...clientFlags,
  },
  async run(flags) {
    const given = (Object.keys(selectorFlags) as (keyof typeof selectorFlags)[]).filter((flag) => flags.has(flag));
    const [selector] = given;
    if (given.length !== 1 || !selector) {
      const got = given.length ? ` (got ${given.map((f) => `--${f}`).join(', ')})` : '';
      throw new UsageError(`give exactly one of --serial, --spiffe-id, --entry-id, --agent-id, --authority-id${got}`, flags.commandPath);
    }
    const reason = flags.string('reason');
    if (reason !== undefined && !(reasons as readonly string[]).includes(reason)) throw flags.invalid('reason', reason, `must be one of ${reasons.join(', ')}`);
    const client = await adminClient(flags);
    const result = await client.postJson<RevokeJson>('/v1/svids/revoke', { [selectorFlags[selector]]: flags.string(selector), reason });
    if (outputFormat(flags) === 'json') printJson(result);
    else printText(formatRevoked(result));
    return 0;
  },
});

export const svidCommands = group('svid', 'Inspect and revoke issued SVIDs', [list, revoke]);
