// Turns an imported module into an App: default export or `application`, or a `{ fetch }` handler.
import type { App, FetchHandler } from './types.js';
import { fromFetchHandler } from './fetch-adapter.js';

export class AppExportError extends Error {
  override name = 'AppExportError';
}

const isFetchHandler = (v: unknown): v is FetchHandler =>
  typeof v === 'object' && v !== null && typeof (v as { fetch?: unknown }).fetch === 'function';

/** Throws AppExportError when the module has nothing an app can be made of. */
export function appFromModule(mod: Record<string, unknown>, name: string): App {
  const candidate = mod.default ?? mod.application;
  if (typeof candidate === 'function') return candidate as App;
  if (isFetchHandler(candidate)) return fromFetchHandler(candidate);
  if (isFetchHandler(mod.application)) return fromFetchHandler(mod.application);
  throw new AppExportError(`no app export in ${name}: expected a default export or "application" that is a function (environ, startResponse) or an object with fetch()`);
}
