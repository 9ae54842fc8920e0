import type { Request } from 'express';
import { SigilError } from '../../common/errors.js';
import type { ApiContext } from './context.js';
import { actorOf } from './auth.js';

/**
 * Run a mutation in one transaction together with its audit row. A failed mutation rolls back
 * and is then audited on its own (result "error"), so refusals are on record too.
 */
export function auditedMutation<T>(ctx: ApiContext, req: Request, action: string, target: string, mutate: (now: number) => T, detail?: (result: T) => Record<string, unknown>): T {
  const now = ctx.clock.now().getTime();
  const actor = actorOf(req);
  try {
    return ctx.store.transaction(() => {
      const result = mutate(now);
      ctx.store.audit.record(now, { actor, action, target, result: 'ok', detail: detail ? detail(result) : {} });
      return result;
    });
  } catch (err) {
    recordFailure(ctx, req, action, target, err);
    throw err;
  }
}

export function recordFailure(ctx: ApiContext, req: Request, action: string, target: string, err: unknown): void {
  const code = err instanceof SigilError ? err.code : 'internal';
  ctx.store.audit.record(ctx.clock.now().getTime(), { actor: actorOf(req), action, target, result: 'error', detail: { code, message: (err as Error).message } });
}
