/** JWT-SVIDs for the files in `jwt_svids`: fetched at start and again at half of their remaining life, like spiffe-helper. */
import type { JwtSvid } from '../../../workload/jwt-response.js';
import type { JwtSvidFileSetting } from './watch-config.js';

export interface JwtSource {
  fetchJwtSvids(audience: string[], spiffeId?: string): Promise<JwtSvid[]>;
}

const retryMs = 5_000;
const minRefreshMs = 1_000;

/** Starts one refresh loop per file; returns a function that stops them all. */
export function refreshJwtSvids(
  source: JwtSource,
  files: readonly JwtSvidFileSetting[],
  choice: { spiffeId?: string; hint?: string },
  onToken: (fileName: string, token: string) => void,
  say: (line: string) => void,
  now: () => number = Date.now,
): () => void {
  const timers = new Set<NodeJS.Timeout>();
  let stopped = false;
  const schedule = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };
  for (const file of files) {
    const fetchOnce = async () => {
      if (stopped) return;
      try {
        const svids = await source.fetchJwtSvids([file.audience, ...file.extraAudiences], choice.spiffeId);
        const svid = svids.find((s) => choice.hint === undefined || s.hint === choice.hint);
        if (!svid) throw new Error(`no JWT-SVID with hint ${JSON.stringify(choice.hint)}; the agent offers ${svids.map((s) => s.spiffeId).join(', ')}`);
        if (stopped) return;
        onToken(file.fileName, svid.token);
        schedule(Math.max(minRefreshMs, (svid.expiresAt.getTime() - now()) / 2), () => void fetchOnce());
      } catch (err) {
        say(`JWT-SVID for ${file.audience} (${file.fileName}): ${(err as Error).message} (retrying in ${retryMs / 1000}s)`);
        schedule(retryMs, () => void fetchOnce());
      }
    };
    void fetchOnce();
  }
  return () => {
    stopped = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
  };
}
