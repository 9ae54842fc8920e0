import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { ApiContext } from './context.js';
import { requireToken } from './auth.js';
import { errorHandler, notFoundHandler } from './errors.js';
import { adminTokensRouter } from './routes/admin-tokens.js';
import { agentsRouter } from './routes/agents.js';
import { authoritiesRouter } from './routes/authorities.js';
import { bundleRouter } from './routes/bundle.js';
import { crlRouter } from './routes/crl.js';
import { entriesRouter } from './routes/entries.js';
import { auditRouter, eventsRouter } from './routes/events.js';
import { joinTokensRouter } from './routes/join-tokens.js';
import { mintRouter } from './routes/mint.js';
import { revocationRouter } from './routes/revocation.js';
import { svidsRouter } from './routes/svids.js';
import { webhooksRouter } from './routes/webhooks.js';

export const maxBodyBytes = 1024 * 1024;

function recordMetrics(ctx: ApiContext) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const stop = ctx.metrics.httpDuration.startTimer();
    res.on('finish', () => {
      const route = req.route ? `${req.baseUrl}${String(req.route.path)}` : 'unmatched';
      ctx.metrics.httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
      stop({ method: req.method, route });
    });
    next();
  };
}

/** The admin REST API, /live, /ready and /metrics. */
export function createAdminApp(ctx: ApiContext, isReady: () => { ready: boolean; reason: string }): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  app.use(recordMetrics(ctx));

  app.get('/live', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/ready', (_req, res) => {
    const state = isReady();
    res.status(state.ready ? 200 : 503).json({ status: state.ready ? 'ready' : 'not_ready', reason: state.reason });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(ctx.metrics.registry.contentType).send(await ctx.metrics.registry.metrics());
  });

  const v1 = express.Router();
  // Public and read-only: no token, no body.
  v1.use('/bundle', bundleRouter(ctx));
  v1.use('/crl', crlRouter(ctx));
  // The token before the body: a caller without one is refused (and audited) before any parsing.
  v1.use(requireToken(ctx));
  v1.use(express.json({ limit: maxBodyBytes, strict: true }));
  v1.use((req, _res, next) => {
    // A body that is not JSON would otherwise be silently ignored.
    if (req.headers['content-length'] && req.headers['content-length'] !== '0' && !req.is('application/json')) {
      next(Object.assign(new Error('request body must be JSON (Content-Type: application/json)'), { status: 415 }));
      return;
    }
    next();
  });
  v1.use('/entries', entriesRouter(ctx));
  v1.use('/join-tokens', joinTokensRouter(ctx));
  v1.use('/agents', agentsRouter(ctx));
  v1.use('/svids', svidsRouter(ctx));
  v1.use(revocationRouter(ctx));
  v1.use('/authorities', authoritiesRouter(ctx));
  v1.use('/events', eventsRouter(ctx));
  v1.use('/audit', auditRouter(ctx));
  v1.use('/admin-tokens', adminTokensRouter(ctx));
  v1.use(webhooksRouter(ctx));
  v1.use(mintRouter(ctx));
  app.use('/v1', v1);

  app.use(notFoundHandler);
  app.use(errorHandler(ctx.log));
  return app;
}
