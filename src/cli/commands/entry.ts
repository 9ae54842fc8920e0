import { attestedSelectorNames, isAttestedSelector } from '../../agent/attestation/attested-selectors.js';
import type { presentEntry } from '../../server/api/present.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf, type FlagSpecs } from '../command.js';
import { UsageError } from '../errors.js';
import type { FlagValues } from '../flag-values.js';
import { formatFields, formatFound, outputFormat, printJson, printText } from '../output.js';

type EntryJson = ReturnType<typeof presentEntry>;

const entryFieldFlags: FlagSpecs = {
  'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', description: 'SPIFFE ID that the entry gives its workloads' },
  'parent-id': { type: 'string', valueName: 'ID', spireName: 'parentID', description: 'SPIFFE ID of the agent whose workloads the entry is for' },
  selector: { type: 'string', multiple: true, valueName: 'TYPE:VALUE', description: 'workload selector, split at the first colon, e.g. unix:uid:1000' },
  dns: { type: 'string', multiple: true, valueName: 'NAME', description: 'DNS name to put in the X.509-SVID' },
  'x509-svid-ttl': { type: 'string', valueName: 'DURATION', spireName: 'x509SVIDTTL', description: "lifetime of the entry's X.509-SVIDs, e.g. 1h (default: the server's)" },
  'jwt-svid-ttl': { type: 'string', valueName: 'DURATION', spireName: 'jwtSVIDTTL', description: "lifetime of the entry's JWT-SVIDs, e.g. 5m (default: the server's)" },
  hint: { type: 'string', valueName: 'TEXT', description: 'hint that tells apart the SVIDs of a workload that gets several' },
  admin: { type: 'boolean', description: 'the SVIDs of this entry are admin identities' },
};

const entryIdFlag: FlagSpecs = { 'entry-id': { type: 'string', valueName: 'ID', spireName: 'entryID', description: 'ID of the entry (or give it as the argument)' } };
const entryIdArgument = { usage: '[ENTRY_ID]', max: 1 };

function parseSelector(flags: FlagValues, text: string): { type: string; value: string } {
  const colon = text.indexOf(':');
  if (colon <= 0 || colon === text.length - 1) throw flags.invalid('selector', text, 'must be "type:value", e.g. unix:uid:1000');
  return { type: text.slice(0, colon), value: text.slice(colon + 1) };
}

function entryIdOf(flags: FlagValues, positionals: string[]): string {
  const fromFlag = flags.string('entry-id');
  const fromArgument = positionals[0];
  if (fromFlag !== undefined && fromArgument !== undefined && fromFlag !== fromArgument) {
    throw new UsageError(`give the entry ID once: --entry-id ${fromFlag} and argument ${fromArgument} differ`, flags.commandPath);
  }
  const id = fromFlag ?? fromArgument;
  if (id === undefined) throw new UsageError('missing required flag --entry-id (or the entry ID as the argument)', flags.commandPath);
  return id;
}

/** The request fields that were given on the command line, in the API's names. */
function entryFields(flags: FlagValues): Record<string, unknown> {
  const admin = flags.boolean('admin') ? true : flags.boolean('no-admin') ? false : undefined;
  if (flags.boolean('admin') && flags.boolean('no-admin')) throw new UsageError('give --admin or --no-admin, not both', flags.commandPath);
  const fields: Record<string, unknown> = {
    spiffe_id: flags.string('spiffe-id'),
    parent_id: flags.string('parent-id'),
    selectors: flags.has('selector') ? flags.strings('selector').map((s) => parseSelector(flags, s)) : undefined,
    dns_names: flags.has('dns') ? flags.strings('dns') : undefined,
    x509_svid_ttl: flags.seconds('x509-svid-ttl'),
    jwt_svid_ttl: flags.seconds('jwt-svid-ttl'),
    hint: flags.string('hint'),
    admin,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

export /** The stored TTL, and what the CA gives now when that is less (and why). */
function ttlWithCap(entry: { x509_svid_ttl: number; effective_x509_svid_ttl?: number; x509_svid_ttl_capped_by?: string | null }): string | number {
  if (entry.x509_svid_ttl_capped_by && entry.effective_x509_svid_ttl !== undefined) {
    return `${entry.x509_svid_ttl} (SVIDs get ${entry.effective_x509_svid_ttl}s now: capped by ${entry.x509_svid_ttl_capped_by})`;
  }
  return entry.x509_svid_ttl;
}

function formatEntry(entry: EntryJson): string {
  return formatFields([
    ['Entry ID', entry.id],
    ['SPIFFE ID', entry.spiffe_id],
    ['Parent ID', entry.parent_id],
    ['Revision', entry.revision],
    ['X509-SVID TTL', ttlWithCap(entry)],
    ['JWT-SVID TTL', entry.jwt_svid_ttl],
    ...entry.selectors.map((s) => ['Selector', `${s.type}:${s.value}`] as const),
    ...entry.dns_names.map((name) => ['DNS name', name] as const),
    ['Hint', entry.hint],
    ['Admin', entry.admin ? true : undefined],
  ]);
}

/** The server stores any selector (SPIRE has plugins for more); a Sigil agent matches only those it attests. */
function warnUnattestedSelectors(body: Record<string, unknown>): void {
  const selectors = (body.selectors ?? []) as { type: string; value: string }[];
  const unattested = selectors.filter((s) => !isAttestedSelector(s.type, s.value)).map((s) => `${s.type}:${s.value}`);
  if (unattested.length === 0) return;
  process.stderr.write(
    `warning: no Sigil agent attests ${unattested.join(', ')}, so no workload of a Sigil agent matches this entry. ` +
      `Agents attest ${attestedSelectorNames().join(', ')}.\n`,
  );
}

function printEntry(flags: FlagValues, entry: EntryJson): number {
  if (outputFormat(flags) === 'json') printJson(entry);
  else printText(formatEntry(entry));
  return 0;
}

const create = leaf({
  name: 'create',
  summary: 'Create a registration entry',
  flags: {
    ...entryFieldFlags,
    'spiffe-id': { ...entryFieldFlags['spiffe-id']!, required: true },
    'parent-id': { ...entryFieldFlags['parent-id']!, required: true },
    selector: { ...entryFieldFlags.selector!, required: true },
    ...clientFlags,
  },
  async run(flags) {
    const body = entryFields(flags);
    const client = await adminClient(flags);
    const created = await client.postJson<EntryJson>('/v1/entries', body);
    warnUnattestedSelectors(body);
    return printEntry(flags, created);
  },
});

const list = leaf({
  name: 'list',
  summary: 'List registration entries (all pages)',
  flags: {
    'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', description: 'only entries with this SPIFFE ID' },
    'parent-id': { type: 'string', valueName: 'ID', spireName: 'parentID', description: 'only entries with this parent ID' },
    selector: { type: 'string', multiple: true, valueName: 'TYPE:VALUE', description: 'only entries whose selectors match these (see --match)' },
    match: { type: 'string', choices: ['exact', 'subset', 'superset', 'any'], description: 'how --selector matches: exact, subset, superset (default) or any' },
    ...clientFlags,
  },
  async run(flags) {
    const selectors = flags.strings('selector').map((s) => parseSelector(flags, s));
    const client = await adminClient(flags);
    const entries = await client.listAll<EntryJson>('/v1/entries', 'entries', {
      spiffe_id: flags.string('spiffe-id'),
      parent_id: flags.string('parent-id'),
      selector: selectors.map((s) => `${s.type}:${s.value}`),
      match: flags.string('match'),
    });
    if (outputFormat(flags) === 'json') printJson({ entries });
    else printText(formatFound(entries.map(formatEntry), 'entry', 'entries'));
    return 0;
  },
});

const show = leaf({
  name: 'show',
  summary: 'Show one registration entry',
  flags: { ...entryIdFlag, ...clientFlags },
  positionals: entryIdArgument,
  async run(flags, positionals) {
    const id = entryIdOf(flags, positionals);
    const client = await adminClient(flags);
    return printEntry(flags, await client.getJson<EntryJson>(`/v1/entries/${encodeURIComponent(id)}`));
  },
});

const update = leaf({
  name: 'update',
  summary: 'Change the given fields of a registration entry (--selector and --dns replace the lists)',
  flags: {
    ...entryIdFlag,
    ...entryFieldFlags,
    'no-admin': { type: 'boolean', description: 'the SVIDs of this entry are not admin identities' },
    ...clientFlags,
  },
  positionals: entryIdArgument,
  async run(flags, positionals) {
    const id = entryIdOf(flags, positionals);
    const body = entryFields(flags);
    if (Object.keys(body).length === 0) throw new UsageError('nothing to update: give at least one of the entry flags (see --help)', flags.commandPath);
    const client = await adminClient(flags);
    const updated = await client.patchJson<EntryJson>(`/v1/entries/${encodeURIComponent(id)}`, body);
    warnUnattestedSelectors(body);
    return printEntry(flags, updated);
  },
});

const remove = leaf({
  name: 'delete',
  summary: 'Delete a registration entry',
  flags: { ...entryIdFlag, ...clientFlags },
  positionals: entryIdArgument,
  async run(flags, positionals) {
    const id = entryIdOf(flags, positionals);
    const client = await adminClient(flags);
    await client.delete(`/v1/entries/${encodeURIComponent(id)}`);
    if (outputFormat(flags) === 'json') printJson({ id, deleted: true });
    else printText(`Deleted entry with ID: ${id}`);
    return 0;
  },
});

export const entryCommands = group('entry', 'Manage registration entries', [create, list, show, update, remove]);
