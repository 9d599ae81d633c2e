// Import check, run in a throwaway worker thread before CGI mode serves (and on its reload): there, apps run
// in a child process per request, so without it a module that fails to import would only show as 502s.
// (Pool mode needs no such thread: its own workers import the apps before the pool serves.)
import { parentPort, workerData } from 'node:worker_threads';
import { importApps } from './import-apps.js';

export type CheckResult = { ok: true } | { ok: false; error: string };

let result: CheckResult = { ok: true };
try {
  await importApps(workerData as string[]);
} catch (e) {
  result = { ok: false, error: (e as Error).message };
}
parentPort!.postMessage(result);
