import { publicClientFlags } from '../client-flags.js';
import { publicClient } from '../client/connect.js';
import { leaf } from '../command.js';
import { CommandFailure } from '../errors.js';
import type { FlagValues } from '../flag-values.js';
import { outputFormat, printJson, printText } from '../output.js';

interface ReadyJson {
  status: string;
  reason: string;
}

async function checkReady(flags: FlagValues): Promise<{ healthy: boolean; reason: string; body?: ReadyJson }> {
  let response: Response;
  try {
    const client = await publicClient(flags);
    response = await client.fetchRaw('GET', '/ready');
  } catch (err) {
    if (err instanceof CommandFailure) return { healthy: false, reason: err.message };
    throw err;
  }
  const body = (await response.json().catch(() => undefined)) as ReadyJson | undefined;
  if (response.ok) return { healthy: true, reason: '', ...(body && { body }) };
  return { healthy: false, reason: body?.reason || `the server answered HTTP ${response.status}`, ...(body && { body }) };
}

export const healthcheckCommand = leaf({
  name: 'healthcheck',
  summary: 'Check that the server is ready to issue (exit 0) or say why not (exit 1)',
  flags: { ...publicClientFlags },
  async run(flags) {
    const result = await checkReady(flags);
    if (outputFormat(flags) === 'json') printJson(result.body ?? { status: 'unreachable', reason: result.reason });
    else if (result.healthy) printText('Server is healthy.');
    if (!result.healthy) process.stderr.write(`Server is unhealthy: ${result.reason}\n`);
    return result.healthy ? 0 : 1;
  },
});
