import { publicClientFlags, tokenFileFlag } from '../client-flags.js';
import { publicClient } from '../client/connect.js';
import { group, leaf } from '../command.js';
import { outputFormat, printJson, printText } from '../output.js';

const show = leaf({
  name: 'show',
  summary: "Show the server's trust bundle (public; needs no token)",
  flags: {
    format: { type: 'string', choices: ['pem', 'spiffe'], description: 'pem (default): the X.509 authorities; spiffe: the SPIFFE bundle JSON with the JWT keys' },
    ...publicClientFlags,
    'token-file': { ...tokenFileFlag, description: 'accepted like on every client command, but not needed: the bundle is public' },
  },
  async run(flags) {
    const format = flags.string('format') ?? 'pem';
    const client = await publicClient(flags);
    const text = await client.getText('/v1/bundle', { format });
    if (outputFormat(flags) === 'pretty') printText(text);
    else if (format === 'spiffe') printJson(JSON.parse(text));
    else printJson({ format, bundle_pem: text });
    return 0;
  },
});

export const bundleCommands = group('bundle', 'Show the trust bundle', [show]);
