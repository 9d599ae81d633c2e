// Front side of CGI mode's import check: every app module is imported in a fresh, throwaway worker thread
// before the server listens (and on a reload).
import { Worker } from 'node:worker_threads';
import { limits } from './options.js';
import { builtFile } from './package-root.js';
import type { CheckResult } from '../workers/check-apps.js';

export class AppLoadError extends Error {
  override name = 'AppLoadError';
}

/** Resolves when every module imports and exports an app; rejects with AppLoadError naming the module. */
export async function checkApps(modules: string[], timeoutMs = limits.appImportTimeoutMs): Promise<void> {
  if (modules.length === 0) return;
  const worker = new Worker(builtFile('workers', 'check-apps.js'), { workerData: modules, stdout: true, stderr: true });
  try {
    const result = await new Promise<CheckResult>((resolve, reject) => {
      const timer = setTimeout(() => reject(new AppLoadError(`importing ${modules.join(', ')} took over ${timeoutMs} ms`)), timeoutMs);
      worker.once('message', (m) => { clearTimeout(timer); resolve(m); });
      worker.once('error', (e) => { clearTimeout(timer); reject(new AppLoadError(`import check failed: ${e.message}`)); });
      worker.once('exit', (code) => { clearTimeout(timer); reject(new AppLoadError(`import check exited with code ${code}`)); });
    });
    if (!result.ok) throw new AppLoadError(`app module ${result.error}`);
  } finally {
    await worker.terminate();
  }
}
