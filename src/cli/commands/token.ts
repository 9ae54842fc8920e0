import type { presentJoinToken } from '../../server/api/present.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
import { outputFormat, printJson, printText } from '../output.js';

type JoinTokenJson = ReturnType<typeof presentJoinToken> & { token: string };

const generate = leaf({
  name: 'generate',
  summary: 'Generate a one-time join token for attesting an agent',
  flags: {
    ttl: { type: 'string', valueName: 'DURATION', description: 'how long the token may be used, e.g. 10m (default: 10m)' },
    name: { type: 'string', valueName: 'NAME', description: 'a name to find the token by later' },
    ...clientFlags,
  },
  async run(flags) {
    const client = await adminClient(flags);
    const created = await client.postJson<JoinTokenJson>('/v1/join-tokens', { ttl: flags.seconds('ttl'), name: flags.string('name') });
    if (outputFormat(flags) === 'json') printJson(created);
    else printText(`Token: ${created.token}\nExpires at: ${created.expires_at ?? 'never'}`);
    return 0;
  },
});

export const tokenCommands = group('token', 'Manage join tokens', [generate]);
