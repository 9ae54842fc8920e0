import type { presentAuthority } from '../../server/api/present.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
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

export const authorityCommands = group('authority', 'Inspect signing authorities', [list]);
