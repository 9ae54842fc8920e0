import type { Express } from 'express';

/** The parts of Express 5's router layers that we read; checked at run time, since they are internals. */
interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
  rawPath?: unknown;
  slash?: boolean;
}

/** Every route of an Express app as "METHOD /full/path" (params as Express spells them, ":id"). */
export function routesOf(app: Express): string[] {
  const stack = (app as unknown as { router?: { stack?: Layer[] } }).router?.stack;
  if (!Array.isArray(stack)) throw new Error('cannot list the routes: app.router.stack is not there (did Express change?)');
  const routes: string[] = [];
  const walk = (layers: Layer[], prefix: string): void => {
    for (const layer of layers) {
      if (layer.route) {
        const path = `${prefix}${layer.route.path}`.replace(/(.)\/$/, '$1');
        for (const method of Object.keys(layer.route.methods)) routes.push(`${method.toUpperCase()} ${path}`);
      } else if (Array.isArray(layer.handle?.stack)) {
        if (!layer.slash && typeof layer.rawPath !== 'string') throw new Error('cannot list the routes: a mounted router has no string rawPath (did Express change?)');
        walk(layer.handle.stack, layer.slash ? prefix : `${prefix}${layer.rawPath as string}`);
      }
    }
  };
  walk(stack, '');
  return routes;
}
