// Pool side: a piscina worker thread. It imports every mounted app once, then runs one long task, its
// lane: requests arrive tagged with ids, and everything about each goes back on the same lane.
// workerData straight from node: piscina hands a worker the pool's workerData as the thread's own, and
// importing piscina's index here would load its whole front side into every worker at start.
import { getHeapStatistics } from 'node:v8';
import { threadId, workerData } from 'node:worker_threads';
import { AppError, runApp } from '../app/run-app.js';
import { BodyInput } from '../app/input.js';
import type { Environ } from '../app/types.js';
import { buildEnviron } from '../front/environ.js';
import { importApps } from './import-apps.js';
import { LaneChannel } from './lane-channel.js';
import { PortBodySource, PortSink, type Post } from './port-transport.js';
import { unpackRequest } from './request-wire.js';
import { heapReportMs, transferOf, type FrontMessage, type PoolTask, type PoolTaskResult, type PoolWorkerData, type RequestResult, type RequestStart, type ToFront, type ToWorker } from './protocol.js';

const data = workerData as PoolWorkerData;
// Top-level await: piscina waits for the imports before handing this worker its task. A module that fails
// rejects that task with an AppImportError naming it: at start or reload, the front refuses the pool with it.
const apps = await importApps(data.apps.map((a) => a.module));

const poolLoad = new Int32Array(data.poolLoad);
/**
 * Worth polling only when this worker is likely the one to get the next request (the pool is all but idle) and
 * no CGI program needs the core.
 */
const poolNearlyIdle = () => Atomics.load(poolLoad, 0) <= 1 && Atomics.load(poolLoad, 1) === 0;

/**
 * Serves the lane until the front says stop (it does so only when nothing runs here). At most
 * `concurrency` requests run at once; the rest wait here in arrival order, and the next starts only once
 * the previous result has left, so when this worker dies the front knows which requests never started.
 */
export default function serveLane(task: PoolTask): Promise<PoolTaskResult> {
  return new Promise((resolve) => {
    /** Where each running request's messages from the front go. */
    const running = new Running();
    const waiting: ({ id: number } & RequestStart)[] = [];
    const next = () => {
      while (running.size < data.concurrency && waiting.length) {
        const req = waiting.shift()!;
        // serveRequest registers the request in `running` before its first await, so the loop sees it.
        void serveRequest(req, post, running).then(() => {
          lane.flush(); // the result is out before anything else starts
          next();
          // Idle now: at low load the next request comes within a round trip, so wait awake for it a moment.
          if (running.size === 0 && data.idleSpinUs > 0 && poolNearlyIdle()) lane.spin(data.idleSpinUs, poolNearlyIdle);
        });
      }
    };
    const post: Post = (m, transfer) => lane.post(m, transfer);
    const reportHeap = () => {
      const h = getHeapStatistics();
      lane.post({ id: 0, t: 'heap', used: h.used_heap_size, total: h.total_heap_size });
    };
    const heapTimer = setInterval(reportHeap, heapReportMs).unref();
    const lane: LaneChannel<ToFront, ToWorker> = new LaneChannel(task.port, (msg) => {
      if (msg.t === 'stop') {
        clearInterval(heapTimer);
        lane.close();
        resolve({ t: 'stopped' });
      } else if (msg.t === 'request') {
        waiting.push(msg);
        next();
      } else if ((msg.t === 'abort' || msg.t === 'withdraw') && waiting.some((w) => w.id === msg.id)) {
        // The client left, or another worker is free, before its turn: it never runs here.
        waiting.splice(waiting.findIndex((w) => w.id === msg.id), 1);
        lane.post({ id: msg.id, t: 'result', result: { t: msg.t === 'abort' ? 'aborted' : 'withdrawn' } });
      } else if (msg.t !== 'withdraw') running.get(msg.id)?.(msg);
    });
    lane.post({ id: 0, t: 'hello', worker: threadId });
    reportHeap();
  });
}

async function serveRequest(req: { id: number } & RequestStart, post: Post, running: Running): Promise<void> {
  const id = req.id;
  const began = performance.now();
  const sink = new PortSink(id, post);
  const source = req.hasBody ? new PortBodySource(id, post) : null;
  running.set(id, source ? (msg) => { sink.onMessage(msg); source.onMessage(msg); } : (msg) => sink.onMessage(msg));
  // Built here, not at the front: the worker has the time, and a string crosses the lane cheaper than an object.
  const d = unpackRequest(req.request);
  const environ = buildEnviron(d.facts, d.mount, d.body, d.policy) as unknown as Environ;
  environ['gateway.version'] = [1, 0];
  environ['gateway.url_scheme'] = req.url_scheme;
  environ['gateway.input'] = new BodyInput(source);
  environ['gateway.errors'] = new ErrorsStream(id, post);
  environ['gateway.multithread'] = true;
  environ['gateway.multiprocess'] = false;
  environ['gateway.run_once'] = false;
  let result: RequestResult;
  try {
    const outcome = await runApp(apps[req.app]!, environ, sink);
    result = { t: outcome === 'completed' ? 'done' : 'aborted' };
  } catch (e) {
    const err = e instanceof AppError ? e : new AppError('APP_THREW', String(e), false);
    const cause = err.cause instanceof Error ? err.cause : err;
    result = { t: 'failed', code: err.code, message: err.message, ...(cause.stack ? { stack: cause.stack } : {}), headersSent: err.headersSent };
  }
  running.delete(id);
  const us = Math.round((performance.now() - began) * 1000);
  const whole = sink.takeWhole(result.t === 'done', us);
  if (whole?.t === 'response') return post(whole, transferOf(whole.body));
  if (whole?.t === 'head') post(whole, transferOf(whole.body));
  post({ t: 'result', id, result, us });
}

/**
 * The requests running here (at most --worker-concurrency) and where their messages go: two short arrays,
 * not a Map, which churning an entry per request would rebuild every few requests into a chain of tables
 * that V8 then promotes (see the front's Lane).
 */
class Running {
  readonly #ids: number[] = [];
  readonly #handlers: ((msg: FrontMessage) => void)[] = [];

  get size(): number {
    return this.#ids.length;
  }

  get(id: number): ((msg: FrontMessage) => void) | undefined {
    const i = this.#ids.indexOf(id);
    return i < 0 ? undefined : this.#handlers[i];
  }

  set(id: number, handler: (msg: FrontMessage) => void): void {
    this.#ids.push(id);
    this.#handlers.push(handler);
  }

  delete(id: number): void {
    const i = this.#ids.indexOf(id);
    if (i < 0) return;
    this.#ids.splice(i, 1);
    this.#handlers.splice(i, 1);
  }
}

/** gateway.errors: what the app writes there becomes a log line at the front, tagged with its request. */
class ErrorsStream {
  readonly #id: number;
  readonly #post: Post;

  constructor(id: number, post: Post) {
    this.#id = id;
    this.#post = post;
  }

  write(text: string): void {
    this.#post({ t: 'log', id: this.#id, text });
  }

  writelines(lines: Iterable<string>): void {
    for (const text of lines) this.write(text);
  }

  flush(): void {}
}
