// Front side of pool mode: a piscina pool of warm worker threads, the gateway's own admission control,
// and one request's trip through it (environ out; head, chunks and acks back over a private port).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { Writable } from 'node:stream';
import { Piscina } from 'piscina';
import { buildEnviron, type MountFacts } from '../environ.js';
import type { RequestRun } from '../request-run.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { limits, type Options } from '../options.js';
import { builtFile } from '../package-root.js';
import { prepareBody } from '../request-body.js';
import { requestWindow, transferable, type FrontMessage, type PoolTask, type PoolTaskResult, type PoolWorkerData, type WorkerMessage } from '../../workers/protocol.js';
import { checkApps } from './check-apps.js';
import { CrashGuard } from './crash-guard.js';
import { Recycler } from './recycler.js';

export interface AppMount {
  prefix: string;
  /** Absolute path of the app module. */
  module: string;
}

const noBodyStatus = (s: number) => s === 204 || s === 304;

export class AppPool {
  readonly #pool: Piscina<PoolTask, PoolTaskResult>;
  readonly #options: Options;
  readonly #apps: AppMount[];
  readonly #log: Logger;
  readonly #recycler: Recycler;
  readonly #guard = new CrashGuard();
  #inFlight = 0;
  /** Wakes close() when the last admitted request is done. */
  #drained: (() => void) | null = null;

  /** Checks every import in a throwaway thread first, then starts the workers and waits until each is warm. */
  static async start(apps: AppMount[], options: Options, log: Logger): Promise<AppPool> {
    await checkApps(apps.map((a) => a.module));
    const pool = new AppPool(apps, options, log);
    await pool.#warm();
    return pool;
  }

  private constructor(apps: AppMount[], options: Options, log: Logger) {
    this.#apps = apps;
    this.#options = options;
    this.#log = log.child({ component: 'pool' });
    this.#recycler = new Recycler(options.maxRequests);
    this.#pool = new Piscina<PoolTask, PoolTaskResult>({
      filename: builtFile('workers', 'pool-worker.js'),
      minThreads: options.workers,
      // One spare thread lets a replacement start while a retiring worker finishes its last request.
      maxThreads: options.workers + (this.#recycler.enabled ? 1 : 0),
      idleTimeout: 30_000,
      // Admission is ours (see serve); piscina's own queue bound does not apply to abortable tasks.
      maxQueue: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      // With the default 'sync', an idle worker blocks in Atomics.wait and the per-request ports it was
      // handed are never released: measured ~4 KiB of RSS leaked per request (1.4 GiB after 214k requests).
      // 'async' waits with Atomics.waitAsync, so the worker's event loop runs between tasks; RSS stays flat.
      atomics: 'async',
      workerData: { apps } satisfies PoolWorkerData,
      ...(options.workerMemoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: options.workerMemoryMb } } : {}),
      ...(this.#recycler.enabled ? { loadBalancer: this.#recycler.balancer } : {}),
      closeTimeout: options.gracefulTimeoutMs,
    });
    // An uncaught error in an idle worker is emitted here; without a listener it would crash the front.
    this.#pool.on('error', (e: Error) => this.#log.error({ err: e.message }, 'worker error outside a request'));
  }

  async #warm(): Promise<void> {
    await Promise.all(Array.from({ length: this.#options.workers }, () => this.#pool.run(null as unknown as PoolTask, { name: 'warm' })));
  }

  /** Runs one request on the app at `appIndex`. Throws a GatewayError while a status page is still possible. */
  async serve(run: RequestRun, appIndex: number, mount: MountFacts): Promise<void> {
    const o = this.#options;
    const paused = this.#guard.pausedFor();
    if (paused > 0) throw new GatewayError('OVERLOADED', `workers keep dying: dispatch paused for another ${paused} ms`);
    if (this.#inFlight >= o.workers + o.maxQueue) {
      throw new GatewayError('OVERLOADED', `${this.#inFlight} requests in the pool (${o.workers} workers + queue of ${o.maxQueue}): queue full`);
    }
    this.#inFlight++;
    const { port1, port2 } = new MessageChannel();
    const sink = new PortWritable(port1);
    let cleanup = async () => {};
    try {
      const body = await prepareBody(run.withBody ? run.req : null, { maxBodyBytes: o.maxBodyBytes, chunkedBody: o.chunkedBody, spoolThresholdBytes: limits.spoolThresholdBytes });
      cleanup = body.cleanup;
      const environ = buildEnviron(run.facts, mount, body, { passAuth: o.passAuth });
      const hasBody = body.streamedChunked || (body.length ?? 0) > 0;
      const abort = new AbortController();
      const task = this.#pool.run(
        { app: appIndex, environ, url_scheme: run.facts.scheme, port: port2, hasBody },
        { transferList: [port2], signal: abort.signal },
      );
      const exchange = this.#exchange(run, this.#apps[appIndex]!.prefix, port1, task, abort, sink);
      if (hasBody) body.pipeTo(sink, (e) => exchange.tooLarge(e));
      await exchange.done;
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
      sink.destroy(); // an unread body is drained by the request side, not left paused
      port1.close();
      void cleanup();
      for (const id of this.#recycler.takeIdleRetirees()) {
        const thread = this.#pool.threads.find((t) => t.threadId === id);
        this.#log.info({ thread: id }, 'worker served its --max-requests: retired');
        void thread?.terminate();
      }
    }
  }

  /** The response half: port messages → socket, with timeouts, client disconnect and worker death. */
  #exchange(run: RequestRun, app: string, port: MessagePort, task: Promise<PoolTaskResult>, abort: AbortController, sink: PortWritable) {
    const { res, log } = run;
    const timeoutMs = this.#options.timeoutMs;
    const where = { app, url: run.facts.url };
    let headSeen = false;
    let ended = false;
    let clientGone = false;
    let tooLarge: GatewayError | undefined;
    let portClosed = false;
    let result: PoolTaskResult | undefined;
    let resolveDone!: () => void;
    let rejectDone!: (e: GatewayError) => void;
    const done = new Promise<void>((resolve, reject) => { resolveDone = resolve; rejectDone = reject; });
    let timer: NodeJS.Timeout | undefined;
    let over = false;

    const finish = (err?: GatewayError) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
      port.off('message', onMessage);
      res.off('close', onClose);
      if (err) rejectDone(err);
      else resolveDone();
    };
    const cut = (why: string) => {
      log.warn({ ...where, code: 'CUT' }, `${why}: connection cut`);
      res.destroy();
    };
    const restartTimer = () => {
      clearTimeout(timer);
      timer = setTimeout(onDeadline, timeoutMs);
    };
    const write = (data: Uint8Array) => {
      restartTimer();
      // The ack is the worker's credit: it goes back once the chunk has reached the socket.
      res.write(data, () => port.postMessage({ t: 'ack' } satisfies FrontMessage));
    };

    function onMessage(msg: WorkerMessage): void {
      // After the body crossed --max-body the app only saw part of it: whatever it answers is not sent.
      if (tooLarge && msg.t !== 'log') return;
      switch (msg.t) {
        case 'head':
          headSeen = true;
          run.served.worker = msg.worker;
          res.statusCode = msg.status;
          res.statusMessage = msg.reason;
          for (const [name, value] of msg.headers) res.appendHeader(name, value);
          if (msg.contentLength !== null && !noBodyStatus(msg.status)) res.setHeader('Content-Length', msg.contentLength);
          if (msg.end) return end(msg.body ?? undefined);
          if (msg.body) write(msg.body);
          else restartTimer();
          return;
        case 'chunk':
          return write(msg.data);
        case 'end':
          return end();
        case 'body-ack':
          return sink.credit();
        case 'log':
          return log.warn({ ...where, stream: 'gateway.errors' }, msg.text.replace(/\n$/, ''));
        case 'closed':
          portClosed = true;
          if (result) onResult(result);
      }
    }
    function end(last?: Uint8Array): void {
      ended = true;
      clearTimeout(timer);
      res.end(last); // the port's 'closed' message, which follows, finishes the exchange
    }
    function onClose(): void {
      if (ended || res.writableFinished) return;
      clientGone = true;
      // The app stops at its next chunk and its body is finalised; the timer still guards a stuck app.
      port.postMessage({ t: 'abort' } satisfies FrontMessage);
    }
    const onDeadline = () => {
      abort.abort(); // piscina terminates the worker and starts a replacement
      if (!headSeen && !clientGone) {
        finish(new GatewayError('TIMEOUT', `app ${app} sent no response within ${timeoutMs} ms for ${run.facts.url}: worker terminated`));
      } else {
        if (!clientGone) cut(`app ${app} sent nothing for ${timeoutMs} ms (worker terminated)`);
        else log.warn(where, `app ${app} still running ${timeoutMs} ms after its client left: worker terminated`);
        finish();
      }
    };

    timer = setTimeout(onDeadline, timeoutMs); // --timeout counts from dispatch
    port.on('message', onMessage);
    res.once('close', onClose);
    const onResult = (r: PoolTaskResult) => {
      if (r.t === 'failed') {
        log.error({ ...where, code: r.code, stack: r.stack }, `app failed: ${r.message}`);
        if (!headSeen && !res.headersSent) return finish(new GatewayError('APP_FAILED', `${app}: ${r.message}`, { debugText: r.stack ?? '' }));
        if (!ended) cut(`app ${app} failed after its headers`);
        return finish();
      }
      if (tooLarge && !res.headersSent) return finish(tooLarge);
      if (ended || clientGone || r.t === 'aborted') finish();
      // 'done' with the end message still on its way: end() finishes.
    };
    task.then(
      (r) => {
        // Wait for the port's last message: lines the app logged while finalising its body come before it.
        result = r;
        if (portClosed) onResult(r);
      },
      (e: Error) => {
        if (abort.signal.aborted) return; // our own timeout: onDeadline answered
        const pause = this.#guard.recordDeath();
        if (pause > 0) log.error({ ...where, pauseMs: pause }, 'workers keep dying: pausing dispatch');
        const why = `worker died running ${app}: ${e.message}`;
        if (ended) return finish();
        if (!res.headersSent) return finish(new GatewayError('WORKER_DIED', why));
        cut(why);
        finish();
      },
    );

    return {
      done,
      tooLarge(e: GatewayError) {
        tooLarge = e;
        log.warn({ ...where, code: e.code }, e.detail);
        port.postMessage({ t: 'abort' } satisfies FrontMessage);
        if (res.headersSent) cut(e.detail);
      },
    };
  }

  /**
   * Drains: every request already admitted (even one still reading its body, not yet handed to piscina)
   * finishes, up to --graceful-timeout; then the threads stop.
   */
  async close(): Promise<void> {
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        setTimeout(resolve, this.#options.gracefulTimeoutMs).unref();
      });
    }
    await this.#pool.close();
  }

  /** Shutdown after the grace period: running requests are cut. */
  async destroy(): Promise<void> {
    await this.#pool.destroy();
  }
}

/** The request body into the port, with its own window: the app's reads return the credit. */
class PortWritable extends Writable {
  #port: MessagePort;
  #inFlight = 0;
  #blocked: (() => void) | null = null;

  constructor(port: MessagePort) {
    super();
    this.#port = port;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const data = transferable(chunk);
    this.#port.postMessage({ t: 'body', data } satisfies FrontMessage, [data.buffer as ArrayBuffer]);
    if (++this.#inFlight < requestWindow) cb();
    else this.#blocked = cb;
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.#port.postMessage({ t: 'body-end' } satisfies FrontMessage);
    cb();
  }

  credit(): void {
    this.#inFlight--;
    const cb = this.#blocked;
    this.#blocked = null;
    cb?.();
  }
}
