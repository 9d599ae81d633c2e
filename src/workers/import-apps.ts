// Importing the mounted app modules inside a worker thread (the pool's workers, CGI mode's import check): one
// place that turns a module that throws, or exports no app, into an error naming the module.
import { pathToFileURL } from 'node:url';
import { appFromModule } from '../app/load-app.js';
import type { App } from '../app/types.js';

/** Thrown (and, from a pool worker, carried to the front by piscina) when a module cannot serve as an app. */
export class AppImportError extends Error {
  override name = 'AppImportError';
}

/** Imports each module in order; the first that fails rejects with an AppImportError that names it. */
export async function importApps(modules: readonly string[]): Promise<App[]> {
  const apps: App[] = [];
  for (const module of modules) {
    try {
      apps.push(appFromModule((await import(pathToFileURL(module).href)) as Record<string, unknown>, module));
    } catch (e) {
      const error = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
      throw new AppImportError(error.includes(module) ? error : `${module} failed to load: ${error}`);
    }
  }
  return apps;
}
