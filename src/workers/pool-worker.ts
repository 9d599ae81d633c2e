// Pool side: a piscina worker thread. It imports every mounted app once, then serves one request per task,
// keeping the task open until the response body has ended.
import { pathToFileURL } from 'node:url';
import { workerData } from 'piscina';
import { AppError, runApp } from '../app/run-app.js';
import { appFromModule } from '../app/load-app.js';
import { BodyInput } from '../app/input.js';
import type { App, Environ } from '../app/types.js';
import { PortBodySource, PortSink } from './port-transport.js';
import type { FrontMessage, PoolTask, PoolTaskResult, PoolWorkerData, WorkerMessage } from './protocol.js';

const data = workerData as PoolWorkerData;
// Top-level await: piscina waits for the imports before handing this worker a task.
const apps: App[] = await Promise.all(
  data.apps.map(async ({ module }) => appFromModule((await import(pathToFileURL(module).href)) as Record<string, unknown>, module)),
);

const noBody: AsyncIterable<Uint8Array> = { async *[Symbol.asyncIterator]() {} };

export default async function serveRequest(task: PoolTask): Promise<PoolTaskResult> {
  const { port } = task;
  const sink = new PortSink(port);
  const source = task.hasBody ? new PortBodySource(port) : null;
  port.on('message', (msg: FrontMessage) => {
    sink.onMessage(msg);
    source?.onMessage(msg);
  });
  const post = (msg: WorkerMessage) => port.postMessage(msg);
  const environ: Environ = {
    ...(task.environ as unknown as Environ),
    'gateway.version': [1, 0],
    'gateway.url_scheme': task.url_scheme,
    'gateway.input': new BodyInput(source ?? noBody),
    'gateway.errors': {
      write: (text: string) => post({ t: 'log', text }),
      writelines: (lines: Iterable<string>) => { for (const text of lines) post({ t: 'log', text }); },
      flush: () => {},
    },
    'gateway.multithread': true,
    'gateway.multiprocess': false,
    'gateway.run_once': false,
  };
  try {
    const outcome = await runApp(apps[task.app]!, environ, sink);
    return { t: outcome === 'completed' ? 'done' : 'aborted' };
  } catch (e) {
    const err = e instanceof AppError ? e : new AppError('APP_THREW', String(e), false);
    const cause = err.cause instanceof Error ? err.cause : err;
    return { t: 'failed', code: err.code, message: err.message, ...(cause.stack ? { stack: cause.stack } : {}), headersSent: err.headersSent };
  } finally {
    post({ t: 'closed' });
    port.close();
  }
}

/** Run once per worker at start: by the time it returns, this thread has imported every app. */
export function warm(): void {}
