import type { presentTtl } from '../../server/api/present.js';
import { clientFlags } from '../client-flags.js';
import { adminClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
import { writeFileWithMode } from '../files.js';
import { outputFormat, printJson, printText } from '../output.js';
import { reportCappedTtl } from './ttl-note.js';

interface MintedJwtJson {
  spiffe_id: string;
  token: string;
  audience: string[];
  kid: string;
  issued_at: string;
  expires_at: string;
  ttl: ReturnType<typeof presentTtl>;
}

const mint = leaf({
  name: 'mint',
  summary: 'Mint a JWT-SVID for any SPIFFE ID of the trust domain, with no entry (like spire-server jwt mint)',
  flags: {
    'spiffe-id': { type: 'string', valueName: 'ID', spireName: 'spiffeID', required: true, description: 'SPIFFE ID of the SVID (the sub claim)' },
    audience: { type: 'string', multiple: true, valueName: 'AUD', required: true, description: 'audience (the aud claim)' },
    ttl: { type: 'string', valueName: 'DURATION', description: "lifetime of the SVID, e.g. 5m (default: the server's)" },
    write: { type: 'string', valueName: 'FILE', description: 'write the token into FILE (mode 0600) instead of printing it' },
    ...clientFlags,
  },
  async run(flags) {
    const body = { spiffe_id: flags.string('spiffe-id'), audience: flags.strings('audience'), ttl: flags.seconds('ttl') };
    const client = await adminClient(flags);
    const minted = await client.postJson<MintedJwtJson>('/v1/jwt/mint', body);
    reportCappedTtl(minted.ttl);
    const file = flags.string('write');
    if (file !== undefined) writeFileWithMode(file, `${minted.token}\n`, 0o600);
    if (outputFormat(flags) === 'json') {
      const { token: _written, ...rest } = minted;
      printJson(file === undefined ? minted : { ...rest, token_file: file });
    } else {
      printText(file === undefined ? minted.token : `JWT-SVID written to ${file}`);
    }
    return 0;
  },
});

export const jwtCommands = group('jwt', 'Mint JWT-SVIDs', [mint]);
