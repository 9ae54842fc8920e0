import type { FlagValues } from '../flag-values.js';
import { AdminClient } from './admin-client.js';
import { readAdminCredential, resolveServerTarget } from './connection.js';

/** A client that authenticates with the admin token from --token-file (or its default). */
export async function adminClient(flags: FlagValues): Promise<AdminClient> {
  const target = await resolveServerTarget(flags);
  return new AdminClient(target.address, readAdminCredential(target.tokenFile));
}

/** A client for the endpoints that need no credentials (/v1/bundle, /ready). */
export async function publicClient(flags: FlagValues): Promise<AdminClient> {
  return new AdminClient((await resolveServerTarget(flags)).address, undefined);
}
