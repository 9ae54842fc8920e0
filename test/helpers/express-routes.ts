import type { Express } from 'express';

export interface RegisteredRoute {
  method: string;
  /** The full path pattern with its parameters, e.g. /v1/entries/:id. */
  path: string;
}

interface RouterLayer {
  route?: { path: unknown; methods: Record<string, boolean> };
  handle?: { stack?: RouterLayer[] };
  rawPath?: unknown;
}

/**
 * Every route the app registers, read from Express's router stack, so that a test built on this
 * list covers a route the day it is added. Express 5 (router 2.x) keeps the mount path of a
 * sub-router as `rawPath`; if that ever changes the walk finds fewer routes, which
 * `assertKnownRoutesFound` turns into a failure rather than a silently smaller test.
 */
export function registeredRoutes(app: Express): RegisteredRoute[] {
  const out: RegisteredRoute[] = [];
  const walk = (stack: RouterLayer[], prefix: string) => {
    for (const layer of stack) {
      if (layer.route) {
        const path = `${prefix}${String(layer.route.path)}`.replace(/(.)\/$/, '$1');
        for (const [method, on] of Object.entries(layer.route.methods)) if (on && method !== '_all') out.push({ method: method.toUpperCase(), path });
      } else if (Array.isArray(layer.handle?.stack)) {
        const mount = typeof layer.rawPath === 'string' && layer.rawPath !== '/' ? layer.rawPath : '';
        walk(layer.handle.stack, prefix + mount);
      }
    }
  };
  const stack = (app as unknown as { router?: { stack?: RouterLayer[] } }).router?.stack;
  if (!Array.isArray(stack)) throw new Error('cannot list the routes: app.router.stack is not there (did Express change?)');
  walk(stack, '');
  return out;
}

/** Every route as "METHOD /full/path" (params as Express spells them, ":id"). */
export function routesOf(app: Express): string[] {
  return registeredRoutes(app).map((r) => `${r.method} ${r.path}`);
}

export function assertKnownRoutesFound(routes: readonly RegisteredRoute[], known: readonly string[]): void {
  const found = new Set(routes.map((r) => `${r.method} ${r.path}`));
  const missing = known.filter((k) => !found.has(k));
  if (missing.length > 0) throw new Error(`the router walk did not find ${missing.join(', ')}: has Express changed how it stores routes? found ${[...found].join(', ')}`);
}
