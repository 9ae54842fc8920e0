import type { presentAuthority } from '../../server/api/present.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf, type FlagSpec } from '../command.js';
import { formatFields, outputFormat, printJson, printText } from '../output.js';

type AuthorityJson = ReturnType<typeof presentAuthority>;

interface AuthoritiesJson {
  x509_authorities: AuthorityJson[];
  jwt_authorities: AuthorityJson[];
}

function formatAuthority(authority: AuthorityJson): string {
  return formatFields([
    ['Authority ID', authority.id],
    ['State', authority.state],
    ['Key type', authority.key_type],
    ['Not before', authority.not_before],
    ['Expires at', authority.not_after],
    ['Activated at', authority.activated_at],
    ['Tainted at', authority.tainted_at],
    ['Revoked at', authority.revoked_at],
    ['Upstream', 'upstream' in authority && authority.upstream ? true : undefined],
  ]);
}

function formatSection(title: string, authorities: AuthorityJson[]): string {
  return [`${title} (${authorities.length}):`, ...authorities.map(formatAuthority)].join('\n\n');
}

const list = leaf({
  name: 'list',
  summary: 'List the X.509 and JWT signing authorities and their states',
  flags: { ...clientFlags },
  async run(flags) {
    const client = await adminClient(flags);
    const authorities = await client.getJson<AuthoritiesJson>('/v1/authorities');
    if (outputFormat(flags) === 'json') printJson(authorities);
    else printText(`${formatSection('X.509 authorities', authorities.x509_authorities)}\n\n${formatSection('JWT authorities', authorities.jwt_authorities)}`);
    return 0;
  },
});

const kindFlag: FlagSpec = { type: 'string', valueName: 'KIND', choices: ['x509', 'jwt'], required: true, description: 'which authorities: x509 or jwt' };
const authorityIdFlag: FlagSpec = { type: 'string', valueName: 'ID', spireName: 'authorityID', description: 'the authority (see `sigil authority list`)' };

function slotAction(name: string, summary: string, needsId: boolean, path: (kind: string, id: string | undefined) => string, body: (id: string | undefined) => unknown) {
  return leaf({
    name,
    summary,
    flags: { kind: kindFlag, 'authority-id': { ...authorityIdFlag, required: needsId }, ...clientFlags },
    async run(flags) {
      const kind = flags.string('kind') as string;
      const id = flags.string('authority-id');
      const authority = await (await adminClient(flags)).postJson<AuthorityJson>(path(kind, id), body(id));
      if (outputFormat(flags) === 'json') printJson(authority);
      else printText(formatAuthority(authority));
      return 0;
    },
  });
}

const prepare = slotAction('prepare', 'Prepare the next authority now (it is published in the bundle at once)', false, (kind) => `/v1/authorities/${kind}/prepare`, () => ({}));
const activate = slotAction('activate', 'Activate the prepared authority (or --authority-id): it signs from now on', false, (kind) => `/v1/authorities/${kind}/activate`, (id) => (id ? { authority_id: id } : {}));
const taint = slotAction('taint', 'Taint an old authority: agents re-issue every SVID it signed at once', true, (kind, id) => `/v1/authorities/${kind}/${encodeURIComponent(id ?? '')}/taint`, () => ({}));
const revoke = slotAction('revoke', 'Revoke a tainted authority: it leaves the bundle (refused while valid SVIDs from it remain)', true, (kind, id) => `/v1/authorities/${kind}/${encodeURIComponent(id ?? '')}/revoke`, () => ({}));

export const authorityCommands = group('authority', 'Inspect and rotate signing authorities', [list, prepare, activate, taint, revoke]);
