import type { NextFunction, Request, Response } from 'express';
import { SigilError } from '../../common/errors.js';
import { hashSecretToken } from '../../common/secrets.js';
import type { AdminRole } from '../../store/admin-tokens.js';
import type { ApiContext } from './context.js';

export interface Caller {
  tokenId: string;
  name: string;
  role: AdminRole;
}

declare module 'express-serve-static-core' {
  interface Request {
    caller?: Caller;
  }
}

const readMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Longest request path kept in an audit row: the path is the caller's to choose. */
const maxAuditedPathLength = 256;

/**
 * A refused request that would have changed something is on record: who (anonymous, or the
 * token's name), which method and path, and why. Refused reads are not: they change nothing
 * and reveal nothing, and recording them would let anyone grow the audit log by polling.
 */
function auditRefusal(ctx: ApiContext, req: Request, err: SigilError): void {
  if (readMethods.has(req.method)) return;
  const path = `${req.baseUrl}${req.path}`;
  try {
    ctx.store.audit.record(ctx.clock.now().getTime(), {
      actor: actorOf(req),
      action: err.code === 'unauthenticated' ? 'api.authenticate' : 'api.authorize',
      target: `${req.method} ${path.length > maxAuditedPathLength ? `${path.slice(0, maxAuditedPathLength)}...` : path}`,
      result: 'error',
      detail: { code: err.code, message: err.message },
    });
  } catch (auditErr) {
    ctx.log.error({ err: auditErr }, 'could not audit a refused admin API request');
  }
}

/**
 * Bearer token auth: 401 without a known token, 403 for a viewer that tries to change anything.
 * Runs before the body is read, so an unauthenticated caller cannot make the server parse JSON.
 */
export function requireToken(ctx: ApiContext) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const refuse = (err: SigilError) => {
      auditRefusal(ctx, req, err);
      next(err);
    };
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      refuse(new SigilError('unauthenticated', 'missing bearer token: send "Authorization: Bearer <token>" (the bootstrap admin token is in <data_dir>/admin.token)'));
      return;
    }
    const token = ctx.store.adminTokens.findByHash(hashSecretToken(match[1]));
    if (!token) {
      refuse(new SigilError('unauthenticated', 'invalid bearer token'));
      return;
    }
    req.caller = { tokenId: token.id, name: token.name, role: token.role };
    if (token.role !== 'admin' && !readMethods.has(req.method)) {
      refuse(new SigilError('permission_denied', `token "${token.name}" has role ${token.role}, which may only read; this request needs role admin`));
      return;
    }
    next();
  };
}

export function actorOf(req: Request): string {
  return req.caller ? `token:${req.caller.name}` : 'anonymous';
}
