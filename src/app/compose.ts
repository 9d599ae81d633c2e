// Middleware composition: wrap an app in layers, the first listed outermost, as a WSGI stack reads.
import type { App } from './types.js';

/** A layer: given the app inside it, returns the app that wraps it. */
export type Middleware = (next: App) => App;

/**
 * `compose(logging, auth)(app)` is `logging(auth(app))`: a request meets `logging` first.
 * Layers are built once, here, not per request.
 */
export function compose(...middleware: Middleware[]): (app: App) => App {
  middleware.forEach((layer, i) => {
    if (typeof layer !== 'function') throw new TypeError(`compose: middleware ${i} is a ${typeof layer}, not a function`);
  });
  return function composed(app) {
    let next = app;
    for (let i = middleware.length - 1; i >= 0; i--) {
      const layer = middleware[i]!;
      const wrapped = layer(next);
      if (typeof wrapped !== 'function') {
        throw new TypeError(`compose: middleware ${layer.name || i} returned a ${typeof wrapped}, not an app`);
      }
      // Stack traces name a function by its `name`: an anonymous layer (`next => (env, sr) => …`) would
      // show as `<anonymous>`, so it takes its factory's name and the trace still says what ran.
      if (wrapped !== next && !wrapped.name && layer.name) Object.defineProperty(wrapped, 'name', { value: layer.name });
      next = wrapped;
    }
    return next;
  };
}
