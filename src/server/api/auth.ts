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

/** Bearer token auth: 401 without a known token, 403 for a viewer that tries to change anything. */
export function requireToken(ctx: ApiContext) {
  return (req: Request, _res: Response, next: NextFunction): void => {
    const header = req.get('authorization');
    const match = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!match?.[1]) {
      next(new SigilError('unauthenticated', 'missing bearer token: send "Authorization: Bearer <token>" (the bootstrap admin token is in <data_dir>/admin.token)'));
      return;
    }
    const token = ctx.store.adminTokens.findByHash(hashSecretToken(match[1]));
    if (!token) {
      next(new SigilError('unauthenticated', 'invalid bearer token'));
      return;
    }
    req.caller = { tokenId: token.id, name: token.name, role: token.role };
    if (token.role !== 'admin' && !readMethods.has(req.method)) {
      next(new SigilError('permission_denied', `token "${token.name}" has role ${token.role}, which may only read; this request needs role admin`));
      return;
    }
    next();
  };
}

export function actorOf(req: Request): string {
  return req.caller ? `token:${req.caller.name}` : 'anonymous';
}
