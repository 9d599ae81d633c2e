// Front side of pool mode: a piscina pool of warm worker threads, each serving a lane (lane.ts); the
// gateway's own admission and queue; and one request's trip (environ out; head, chunks and acks back).
import { Writable } from 'node:stream';
import { Piscina } from 'piscina';
import { buildEnviron, type MountFacts } from '../environ.js';
import type { RequestRun } from '../request-run.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { limits, type Options } from '../options.js';
import { builtFile } from '../package-root.js';
import { prepareBody } from '../request-body.js';
import { requestWindow, transferable, type PoolTask, type PoolTaskResult, type PoolWorkerData, type RequestResult, type WorkerMessage } from '../../workers/protocol.js';
import { checkApps } from './check-apps.js';
import { CrashGuard } from './crash-guard.js';
import { Lane } from './lane.js';

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
  readonly #guard = new CrashGuard();
  readonly #lanes = new Set<Lane>();
  /** Admitted requests waiting for room on a lane, first come first served. */
  readonly #queue: { grant: (lane: Lane) => void }[] = [];
  #inFlight = 0;
  #nextId = 1;
  #closing = false;
  /** Wakes close() when the last admitted request is done. */
  #drained: (() => void) | null = null;

  /** Checks every import in a throwaway thread first, then starts the workers and waits until each is warm. */
  static async start(apps: AppMount[], options: Options, log: Logger): Promise<AppPool> {
    await checkApps(apps.map((a) => a.module));
    const pool = new AppPool(apps, options, log);
    const lanes = Array.from({ length: options.workers }, () => pool.#startLane());
    try {
      await Promise.all(lanes.map((l) => l.ready));
    } catch (e) {
      await pool.destroy();
      throw e;
    }
    return pool;
  }

  private constructor(apps: AppMount[], options: Options, log: Logger) {
    this.#apps = apps;
    this.#options = options;
    this.#log = log.child({ component: 'pool' });
    this.#pool = new Piscina<PoolTask, PoolTaskResult>({
      filename: builtFile('workers', 'pool-worker.js'),
      minThreads: options.workers,
      // One spare thread: a retiring worker's replacement starts before the retiree goes.
      maxThreads: options.workers + 1,
      idleTimeout: 30_000,
      // Each worker runs exactly one task, its lane; admission and queueing are ours.
      maxQueue: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      atomics: 'async',
      workerData: { apps } satisfies PoolWorkerData,
      ...(options.workerMemoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: options.workerMemoryMb } } : {}),
      closeTimeout: options.gracefulTimeoutMs,
    });
    // An uncaught error in an idle worker is emitted here; without a listener it would crash the front.
    this.#pool.on('error', (e: Error) => this.#log.error({ err: e.message }, 'worker error outside a request'));
  }

  /** A new worker and its lane; when the lane ends for any reason but shutdown or retirement, another takes its place. */
  #startLane(): Lane {
    const lane = new Lane(this.#pool);
    const limit = this.#options.maxRequests;
    // --max-requests plus up to 10% jitter, so workers do not all retire at once.
    if (limit > 0) lane.quota = limit + Math.floor(Math.random() * (limit * 0.1 + 1));
    this.#lanes.add(lane);
    void lane.ready.then(() => this.#pump(), () => {});
    const gone = (crashed: boolean) => {
      this.#lanes.delete(lane);
      if (crashed) {
        const pause = this.#guard.recordDeath();
        if (pause > 0) this.#log.error({ pauseMs: pause }, 'workers keep dying: pausing dispatch');
      }
      if (!this.#closing && !lane.retiring) this.#startLane();
      this.#pump();
    };
    lane.task.then(() => gone(false), () => gone(!lane.killed));
    return lane;
  }

  /** Hands free lane places to queued requests, in order. */
  #pump(): void {
    while (this.#queue.length) {
      const lane = this.#pickLane();
      if (!lane) return;
      lane.load++;
      this.#queue.shift()!.grant(lane);
    }
  }

  /** The ready lane with the most room, or null if all are full. */
  #pickLane(): Lane | null {
    let best: Lane | null = null;
    for (const lane of this.#lanes) {
      if (!lane.isReady || lane.load >= this.#options.workerConcurrency) continue;
      if (!best || lane.load < best.load) best = lane;
    }
    return best;
  }

  /** A place on a lane: at once if one is free and nobody is ahead, else in turn. Rejects if the client leaves. */
  #acquire(res: RequestRun['res']): Promise<Lane> {
    if (this.#queue.length === 0) {
      const lane = this.#pickLane();
      if (lane) {
        lane.load++;
        return Promise.resolve(lane);
      }
    }
    return new Promise((resolve, reject) => {
      const entry = {
        grant: (lane: Lane) => {
          res.off('close', onGone);
          resolve(lane);
        },
      };
      const onGone = () => {
        const i = this.#queue.indexOf(entry);
        if (i >= 0) this.#queue.splice(i, 1);
        reject(new GatewayError('OVERLOADED', 'client left while queued'));
      };
      res.once('close', onGone);
      this.#queue.push(entry);
    });
  }

  /** Gives the lane place back; a lane at its --max-requests quota retires once idle, its replacement already started. */
  #release(lane: Lane): void {
    lane.load--;
    if (!lane.retiring && !lane.over && lane.served >= lane.quota) {
      lane.retiring = true;
      if (!this.#closing) this.#startLane();
    }
    if (lane.retiring && lane.load === 0 && !lane.over) {
      this.#log.info({ thread: lane.worker }, 'worker served its --max-requests: retired');
      lane.kill('retired');
    }
    this.#pump();
  }

  /** Runs one request on the app at `appIndex`. Throws a GatewayError while a status page is still possible. */
  async serve(run: RequestRun, appIndex: number, mount: MountFacts): Promise<void> {
    const o = this.#options;
    const paused = this.#guard.pausedFor();
    if (paused > 0) throw new GatewayError('OVERLOADED', `workers keep dying: dispatch paused for another ${paused} ms`);
    if (this.#closing) throw new GatewayError('SHUTTING_DOWN', 'the pool is closing');
    const capacity = o.workers * o.workerConcurrency;
    if (this.#inFlight >= capacity + o.maxQueue) {
      throw new GatewayError('OVERLOADED', `${this.#inFlight} requests in the pool (${capacity} running + queue of ${o.maxQueue}): queue full`);
    }
    this.#inFlight++;
    let lane: Lane | undefined;
    let sink: PortWritable | undefined;
    let cleanup = async () => {};
    const id = this.#nextId++;
    try {
      const body = await prepareBody(run.withBody ? run.req : null, { maxBodyBytes: o.maxBodyBytes, chunkedBody: o.chunkedBody, spoolThresholdBytes: limits.spoolThresholdBytes });
      cleanup = body.cleanup;
      const environ = buildEnviron(run.facts, mount, body, { passAuth: o.passAuth });
      const hasBody = body.streamedChunked || (body.length ?? 0) > 0;
      lane = await this.#acquire(run.res);
      lane.served++;
      const exchange = this.#exchange(run, this.#apps[appIndex]!.prefix, lane, id);
      lane.start(id, { t: 'request', app: appIndex, environ, url_scheme: run.facts.scheme, hasBody }, exchange.handler);
      if (hasBody) {
        sink = new PortWritable(lane, id);
        exchange.onCredit = () => sink!.credit();
        body.pipeTo(sink, (e) => exchange.tooLarge(e));
      }
      await exchange.done;
    } finally {
      if (--this.#inFlight === 0) this.#drained?.();
      sink?.destroy(); // an unread body is drained by the request side, not left paused
      void cleanup();
      if (lane) {
        lane.finish(id);
        this.#release(lane);
      }
    }
  }

  /** The response half: lane messages → socket, with timeouts, client disconnect and worker death. */
  #exchange(run: RequestRun, app: string, lane: Lane, id: number) {
    const { res, log } = run;
    const timeoutMs = this.#options.timeoutMs;
    const where = { app, url: run.facts.url };
    let headSeen = false;
    let ended = false;
    let clientGone = false;
    let tooLarge: GatewayError | undefined;
    let resolveDone!: () => void;
    let rejectDone!: (e: GatewayError) => void;
    const done = new Promise<void>((resolve, reject) => { resolveDone = resolve; rejectDone = reject; });
    let timer: NodeJS.Timeout | undefined;
    let over = false;
    const exchange = { done, onCredit: () => {}, handler: { onMessage, onLost }, tooLarge: (_e: GatewayError) => {} };

    const finish = (err?: GatewayError) => {
      if (over) return;
      over = true;
      clearTimeout(timer);
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
      res.write(data, () => lane.send(id, { t: 'ack' }));
    };

    function onMessage(msg: WorkerMessage): void {
      // After the body crossed --max-body the app only saw part of it: whatever it answers is not sent.
      if (tooLarge && msg.t !== 'log' && msg.t !== 'result') return;
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
          return exchange.onCredit();
        case 'log':
          return log.warn({ ...where, stream: 'gateway.errors' }, msg.text.replace(/\n$/, ''));
        case 'result':
          return onResult(msg.result);
      }
    }
    function end(last?: Uint8Array): void {
      ended = true;
      clearTimeout(timer);
      res.end(last); // the result message, which follows, finishes the exchange
    }
    function onClose(): void {
      if (ended || res.writableFinished) return;
      clientGone = true;
      // The app stops at its next chunk and its body is finalised; the timer still guards a stuck app.
      lane.send(id, { t: 'abort' });
    }
    function onResult(r: RequestResult): void {
      if (r.t === 'failed') {
        log.error({ ...where, code: r.code, stack: r.stack }, `app failed: ${r.message}`);
        if (!headSeen && !res.headersSent) return finish(new GatewayError('APP_FAILED', `${app}: ${r.message}`, { debugText: r.stack ?? '' }));
        if (!ended) cut(`app ${app} failed after its headers`);
        return finish();
      }
      if (tooLarge && !res.headersSent) return finish(tooLarge);
      if (!ended && !clientGone && !tooLarge && r.t === 'done') cut(`app ${app} ended without finishing its response`);
      finish();
    }
    function onLost(why: string): void {
      if (over) return;
      const detail = `${why}, running ${app}`;
      if (ended) return finish();
      if (!res.headersSent) return finish(new GatewayError('WORKER_DIED', detail));
      cut(detail);
      finish();
    }
    const onDeadline = () => {
      lane.kill('timeout'); // piscina terminates the worker; a new lane takes its place
      if (!headSeen && !clientGone) {
        finish(new GatewayError('TIMEOUT', `app ${app} sent no response within ${timeoutMs} ms for ${run.facts.url}: worker terminated`));
      } else {
        if (!clientGone) cut(`app ${app} sent nothing for ${timeoutMs} ms (worker terminated)`);
        else log.warn(where, `app ${app} still running ${timeoutMs} ms after its client left: worker terminated`);
        finish();
      }
    };

    timer = setTimeout(onDeadline, timeoutMs); // --timeout counts from dispatch
    res.once('close', onClose);
    exchange.tooLarge = (e: GatewayError) => {
      tooLarge = e;
      log.warn({ ...where, code: e.code }, e.detail);
      lane.send(id, { t: 'abort' });
      if (res.headersSent) cut(e.detail);
    };
    return exchange;
  }

  /**
   * Drains: every request already admitted (even one still reading its body or queued) finishes, up to
   * --graceful-timeout; then the lanes stop and the threads with them.
   */
  async close(): Promise<void> {
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
        setTimeout(resolve, this.#options.gracefulTimeoutMs).unref();
      });
    }
    this.#closing = true;
    for (const lane of this.#lanes) {
      if (lane.running === 0) lane.stop();
      else lane.kill('graceful timeout passed');
    }
    await Promise.allSettled([...this.#lanes].map((l) => l.task));
    await this.#pool.close();
  }

  /** Shutdown after the grace period: running requests are cut. */
  async destroy(): Promise<void> {
    this.#closing = true;
    await this.#pool.destroy();
  }
}

/** The request body onto the lane, with its own window: the app's reads return the credit. */
class PortWritable extends Writable {
  #lane: Lane;
  #id: number;
  #inFlight = 0;
  #blocked: (() => void) | null = null;

  constructor(lane: Lane, id: number) {
    super();
    this.#lane = lane;
    this.#id = id;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const data = transferable(chunk);
    this.#lane.send(this.#id, { t: 'body', data }, [data.buffer as ArrayBuffer]);
    if (++this.#inFlight < requestWindow) cb();
    else this.#blocked = cb;
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.#lane.send(this.#id, { t: 'body-end' });
    cb();
  }

  credit(): void {
    this.#inFlight--;
    const cb = this.#blocked;
    this.#blocked = null;
    cb?.();
  }
}
