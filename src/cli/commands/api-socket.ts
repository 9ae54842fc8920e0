import type { FlagSpec } from '../command.js';
import { UsageError } from '../errors.js';
import type { FlagValues } from '../flag-values.js';
import type { WorkloadApiClient } from '../../workload/workload-client.js';

export const socketFlag: FlagSpec = {
  type: 'string',
  valueName: 'ADDR',
  spireName: 'socketPath',
  description: 'Workload API address: unix:///path, tcp://IP:PORT, or an absolute socket path (default: $SPIFFE_ENDPOINT_SOCKET)',
};

export const timeoutFlag: FlagSpec = {
  type: 'string',
  valueName: 'DURATION',
  description: 'give up when the agent has not answered after this long (default: 5s)',
};

/** Not the admin commands' --output: that one marks a command as calling the server in help. */
export const apiOutputFlag: FlagSpec = {
  type: 'string',
  valueName: 'FORMAT',
  choices: ['pretty', 'json'],
  description: 'output format: pretty (default) or json',
};

const DEFAULT_TIMEOUT_SECONDS = 5;

export function timeoutMs(flags: FlagValues): number {
  return (flags.seconds('timeout') ?? DEFAULT_TIMEOUT_SECONDS) * 1000;
}

/** SPIRE's -socketPath takes a bare path; escape what a URI would read as query, fragment or escape. */
function addressOfSocketFlag(value: string): string {
  if (!value.startsWith('/')) return value;
  return `unix://${value.replace(/%/g, '%25').replace(/\?/g, '%3F').replace(/#/g, '%23')}`;
}

/**
 * A client for the address from --socket, else `configured` (a config file's), else
 * SPIFFE_ENDPOINT_SOCKET (WL-10); a bad address is a usage error (exit 2).
 */
export async function workloadClientFromFlags(flags: FlagValues, configured?: string): Promise<WorkloadApiClient> {
  // Loaded here: gRPC and the X.509 parsers would slow down every other command.
  const { EndpointAddressError, ENDPOINT_SOCKET_ENV, WorkloadApiClient } = await import('../../workload/index.js');
  const flag = flags.string('socket') ?? configured;
  if ((flag === undefined || flag === '') && !process.env[ENDPOINT_SOCKET_ENV]) {
    throw new UsageError(`no Workload API address: pass --socket unix:///path/to/agent.sock or set ${ENDPOINT_SOCKET_ENV}`, flags.commandPath);
  }
  try {
    return WorkloadApiClient.fromEnvironment(flag === undefined ? undefined : addressOfSocketFlag(flag));
  } catch (err) {
    if (!(err instanceof EndpointAddressError)) throw err;
    if (flag !== undefined && flag !== '') throw flags.invalid('socket', flag, err.message);
    throw new UsageError(err.message, flags.commandPath);
  }
}
