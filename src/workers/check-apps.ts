// Import check, run in a throwaway worker thread before any pool serves (and before a reload switches):
// a module that fails to import would otherwise stop piscina from ever respawning its workers.
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';
import { appFromModule } from '../app/load-app.js';

export type CheckResult = { ok: true } | { ok: false; module: string; error: string };

const modules = workerData as string[];
let result: CheckResult = { ok: true };
for (const module of modules) {
  try {
    appFromModule((await import(pathToFileURL(module).href)) as Record<string, unknown>, module);
  } catch (e) {
    result = { ok: false, module, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
    break;
  }
}
parentPort!.postMessage(result);
