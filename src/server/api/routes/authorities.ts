import { Router } from 'express';
import type { ApiContext } from '../context.js';
import { presentAuthority } from '../present.js';
import { authorityActionsRouter } from './authority-actions.js';

export function authoritiesRouter(ctx: ApiContext): Router {
  const router = Router();
  router.get('/', (_req, res) => {
    res.json({
      x509_authorities: ctx.store.authorities.list('x509').map(presentAuthority),
      jwt_authorities: ctx.store.authorities.list('jwt').map(presentAuthority),
    });
  });
  router.use(authorityActionsRouter(ctx));
  return router;
}
