import { publicClientFlags, tokenFileFlag } from '../client-flags.js';
import { publicClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
import { UsageError } from '../errors.js';
import { outputFormat, printJson, printText } from '../output.js';

/** The DER inside one PEM block; the server sends exactly one when asked for one authority. */
function pemBody(pem: string): Buffer {
  return Buffer.from(pem.replace(/-----(BEGIN|END) X509 CRL-----/g, '').replace(/\s+/g, ''), 'base64');
}

const show = leaf({
  name: 'show',
  summary: "Show the server's current CRLs (public; needs no token)",
  flags: {
    'authority-id': { type: 'string', valueName: 'ID', description: 'only the CRL of this X.509 authority (see sigil authority list); default: every current CRL, those that list revocations first' },
    format: { type: 'string', choices: ['pem', 'der'], description: 'pem (default), or der: binary, one CRL, needs --authority-id (redirect it to a file)' },
    ...publicClientFlags,
    'token-file': { ...tokenFileFlag, description: 'accepted like on every client command, but not needed: CRLs are public' },
  },
  async run(flags) {
    const format = flags.string('format') ?? 'pem';
    const authorityId = flags.string('authority-id');
    if (format === 'der' && authorityId === undefined) throw new UsageError('--format der writes one CRL: give --authority-id', flags.commandPath);
    const client = await publicClient(flags);
    const pem = authorityId === undefined ? await client.getText('/v1/crl') : await client.getText(`/v1/crl/${encodeURIComponent(authorityId)}`);
    if (format === 'der') process.stdout.write(pemBody(pem));
    else if (outputFormat(flags) === 'json') printJson({ format, ...(authorityId !== undefined && { authority_id: authorityId }), crl_pem: pem });
    else printText(pem);
    const count = pem.match(/-----BEGIN X509 CRL-----/g)?.length ?? 0;
    if (format === 'pem' && count > 1 && outputFormat(flags) !== 'json') {
      process.stderr.write(
        `note: ${count} CRLs, one per X.509 authority, those that list revocations first. \`openssl crl\` reads only the first ` +
          '(`openssl verify -CRLfile` reads them all); one authority\'s: sigil crl show --authority-id ID (IDs: sigil authority list)\n',
      );
    }
    return 0;
  },
});

export const crlCommands = group('crl', 'Show certificate revocation lists', [show]);
