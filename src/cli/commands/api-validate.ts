import { group, leaf } from '../command.js';
import { CommandFailure } from '../errors.js';
import { formatFields, outputFormat, printJson, printText } from '../output.js';
import { apiOutputFlag, socketFlag, timeoutFlag, timeoutMs, workloadClientFromFlags } from './api-socket.js';

const validateJwt = leaf({
  name: 'jwt',
  summary: 'Ask the Workload API whether a JWT-SVID is valid for an audience (like spire-agent api validate jwt)',
  flags: {
    audience: { type: 'string', required: true, valueName: 'AUD', description: 'the audience the token must carry' },
    svid: { type: 'string', required: true, valueName: 'TOKEN', description: 'the JWT-SVID to validate' },
    socket: socketFlag,
    timeout: timeoutFlag,
    output: apiOutputFlag,
  },
  async run(flags) {
    const client = await workloadClientFromFlags(flags);
    const { WorkloadApiError } = await import('../../workload/errors.js');
    let result: { spiffeId: string; claims: Record<string, unknown> };
    try {
      result = await client.validateJwtSvid(flags.string('svid')!, flags.string('audience')!, { timeoutMs: timeoutMs(flags) });
    } catch (err) {
      // SPIRE answers InvalidArgument with the reason the token failed; pass it on as the agent said it.
      if (err instanceof WorkloadApiError && err.codeName === 'InvalidArgument') throw new CommandFailure(`JWT-SVID is not valid: ${err.message}`);
      throw err;
    } finally {
      client.close();
    }
    if (outputFormat(flags) === 'json') printJson({ spiffe_id: result.spiffeId, claims: result.claims });
    else printText(`SVID is valid.\n${formatFields([['SPIFFE ID', result.spiffeId], ['Claims', JSON.stringify(result.claims)]])}`);
    return 0;
  },
});

export const apiValidateCommands = group('validate', 'Validate SVIDs with the Workload API', [validateJwt]);
