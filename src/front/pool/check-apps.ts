// Front side of the import check: every app module is imported in a fresh, throwaway worker thread
// before a pool (or a reload) is allowed to serve it.
import { Worker } from 'node:worker_threads';
import { builtFile } from '../package-root.js';

export class AppLoadError extends Error {
  override name = 'AppLoadError';
}

/** Resolves when every module imports and exports an app; rejects with AppLoadError naming the module. */
export async function checkApps(modules: string[], timeoutMs = 30_000): Promise<void> {
  if (modules.length === 0) return;
  const worker = new Worker(builtFile('workers', 'check-apps.js'), { workerData: modules, stdout: true, stderr: true });
  try {
    const result = await new Promise<{ ok: true } | { ok: false; module: string; error: string }>((resolve, reject) => {
      const timer = setTimeout(() => reject(new AppLoadError(`importing ${modules.join(', ')} took over ${timeoutMs} ms`)), timeoutMs);
      worker.once('message', (m) => { clearTimeout(timer); resolve(m); });
      worker.once('error', (e) => { clearTimeout(timer); reject(new AppLoadError(`import check failed: ${e.message}`)); });
      worker.once('exit', (code) => { clearTimeout(timer); reject(new AppLoadError(`import check exited with code ${code}`)); });
    });
    if (!result.ok) {
      const why = result.error.includes(result.module) ? result.error : `${result.module} failed to load: ${result.error}`;
      throw new AppLoadError(`app module ${why}`);
    }
  } finally {
    await worker.terminate();
  }
}
