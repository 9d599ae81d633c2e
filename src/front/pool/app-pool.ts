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
import { requestWindow, transferable, type PoolTask, type PoolTaskResult, type PoolWorkerData, type RequestResult, type RequestStart, type WorkerMessage } from '../../workers/protocol.js';
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
  readonly #queue: { canWait: boolean; grant: (lane: Lane) => void }[] = [];
  #inFlight = 0;
  /** #inFlight, shared with the workers: they poll for work only while the pool is all but idle. */
  #load = new Int32Array(new SharedArrayBuffer(4));
  /** Recent time from dispatch to the end of a request (a moving average), in µs. */
  #recentUs = 0;
  #nextId = 1;
  #closing = false;
  #helpTimer: NodeJS.Timeout | undefined;
  /** Told when the pool goes from idle to serving and back (the gateway caps CGI meanwhile). */
  onBusy: (busy: boolean) => void = () => {};
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
      workerData: {
        apps,
        concurrency: options.workerConcurrency,
        idleSpinUs: options.idleSpinUs,
        poolLoad: this.#load.buffer as SharedArrayBuffer,
      } satisfies PoolWorkerData,
      ...(options.workerMemoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: options.workerMemoryMb } } : {}),
      closeTimeout: options.gracefulTimeoutMs,
    });
    // An uncaught error in an idle worker is emitted here; without a listener it would crash the front.
    this.#pool.on('error', (e: Error) => this.#log.error({ err: e.message }, 'worker error outside a request'));
  }

  /** A new worker and its lane; when the lane ends for any reason but shutdown or retirement, another takes its place. */
  #startLane(): Lane {
    const lane = new Lane(this.#pool, this.#options.workerConcurrency);
    const limit = this.#options.maxRequests;
    // --max-requests plus up to 10% jitter, so workers do not all retire at once.
    if (limit > 0) lane.quota = limit + Math.floor(Math.random() * (limit * 0.1 + 1));
    this.#lanes.add(lane);
    void lane.ready.then(() => this.#pump(), () => {});
    const gone = (crashed: boolean) => {
      this.#lanes.delete(lane);
      let pause = 0;
      if (crashed) {
        pause = this.#guard.recordDeath();
        if (pause > 0) this.#log.error({ pauseMs: pause }, 'workers keep dying: pausing dispatch');
      }
      // A worker that keeps dying is replaced after the pause, not at once: no respawn storm.
      if (!this.#closing && !lane.retiring) {
        if (pause > 0) setTimeout(() => { if (!this.#closing) this.#startLane(); }, pause).unref();
        else this.#startLane();
      }
      this.#pump();
    };
    lane.task.then(() => gone(false), () => gone(!lane.killed));
    return lane;
  }

  /** Hands lane places to queued requests, in order. */
  #pump(): void {
    while (this.#queue.length) {
      const lane = this.#pickLane(this.#queue[0]!.canWait);
      if (!lane) return;
      lane.load++;
      this.#queue.shift()!.grant(lane);
    }
  }

  /**
   * The lane with the most room. A request without a body may also wait its turn on a busy worker (up to
   * `limits.lanePipelineDepth` of them): the worker then finds it there when its current request ends, instead
   * of idling while the front hears of the end and sends the next. A request with a body (which goes to the
   * worker as it arrives) only takes a lane that can run it at once.
   */
  #pickLane(canWait: boolean): Lane | null {
    const runs = this.#options.workerConcurrency;
    let best: Lane | null = null;
    for (const lane of this.#lanes) {
      if (!lane.isReady || lane.load >= runs + (canWait ? limits.lanePipelineDepth : 0)) continue;
      if (!best || lane.load < best.load) best = lane;
    }
    return best;
  }

  /** A place on a lane: at once if one is free and nobody is ahead, else in turn. Rejects if the client leaves. */
  #acquire(res: RequestRun['res'], canWait: boolean): Promise<Lane> {
    if (this.#queue.length === 0) {
      const lane = this.#pickLane(canWait);
      if (lane) {
        lane.load++;
        return Promise.resolve(lane);
      }
    }
    return new Promise((resolve, reject) => {
      const entry = {
        canWait,
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
    this.#offerHelp();
  }

  /**
   * A worker is free and nobody is queued: take back a request waiting its turn behind one that has run for
   * `limits.withdrawAfterMs` (a quicker one usually ends before the round trip of moving would pay off), and
   * look again when the next one reaches that age.
   */
  #offerHelp(): void {
    clearTimeout(this.#helpTimer);
    const runs = this.#options.workerConcurrency;
    if (this.#closing || this.#queue.length) return;
    let free = false;
    for (const lane of this.#lanes) free ||= lane.isReady && lane.load < runs;
    if (!free) return;
    const now = performance.now();
    let soonest = Infinity;
    for (const lane of this.#lanes) {
      const since = lane.blockedSince;
      if (since === null) continue;
      const wait = since + limits.withdrawAfterMs - now;
      if (wait <= 0 && lane.withdrawOne()) return; // its answer requeues it, and #release looks again
      soonest = Math.min(soonest, wait);
    }
    if (soonest < Infinity) this.#helpTimer = setTimeout(() => this.#offerHelp(), Math.max(1, soonest)).unref();
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
    Atomics.store(this.#load, 0, ++this.#inFlight);
    if (this.#inFlight === 1) this.onBusy(true);
    let exchange: Exchange | undefined;
    let sink: PortWritable | undefined;
    let cleanup = async () => {};
    try {
      const body = await prepareBody(run.withBody ? run.req : null, { maxBodyBytes: o.maxBodyBytes, chunkedBody: o.chunkedBody, spoolThresholdBytes: limits.spoolThresholdBytes });
      cleanup = body.cleanup;
      const environ = buildEnviron(run.facts, mount, body, { passAuth: o.passAuth });
      const hasBody = body.streamedChunked || (body.length ?? 0) > 0;
      const lane = await this.#acquire(run.res, !hasBody);
      const start: RequestStart = { t: 'request', app: appIndex, environ, url_scheme: run.facts.scheme, hasBody };
      exchange = this.#exchange(run, this.#apps[appIndex]!.prefix, this.#nextId++, start, (ex, from) => {
        // It never ran where it was (its worker went, or gave it back): to the head of the queue.
        this.#queue.unshift({ canWait: true, grant: (l) => ex.moveTo(l) });
        if (from) {
          from.served--;
          from.finish(ex.id);
          this.#release(from); // pumps
        } else this.#pump();
      });
      const dispatched = performance.now();
      exchange.moveTo(lane);
      // Alone in the pool, with an app that answers quickly: wait awake for the answer rather than pay for
      // being woken. The event loop is held for at most --idle-spin, and only when nothing else is in the pool.
      const spin = o.idleSpinUs;
      if (spin > 0 && this.#inFlight === 1 && !hasBody && this.#recentUs < spin) lane.awaitAnswer(spin);
      if (hasBody) {
        sink = new PortWritable(lane, exchange.id);
        exchange.onCredit = () => sink!.credit();
        body.pipeTo(sink, (e) => exchange!.tooLarge(e));
      }
      await exchange.done;
      this.#recentUs += ((performance.now() - dispatched) * 1000 - this.#recentUs) / 4;
    } finally {
      Atomics.store(this.#load, 0, --this.#inFlight);
      if (this.#inFlight === 0) {
        this.onBusy(false);
        this.#drained?.();
      }
      sink?.destroy(); // an unread body is drained by the request side, not left paused
      void cleanup();
      const lane = exchange?.lane;
      if (lane) {
        lane.finish(exchange!.id);
        this.#release(lane);
      }
    }
  }

  /** The response half: lane messages → socket, with timeouts, client disconnect and worker death. */
  #exchange(run: RequestRun, app: string, id: number, start: RequestStart, requeue: (ex: Exchange, from?: Lane) => void): Exchange {
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
    let lane!: Lane;
    const exchange: Exchange = {
      id,
      done,
      get lane() { return lane; },
      onCredit: () => {},
      tooLarge: (_e: GatewayError) => {},
      moveTo(next: Lane) {
        lane = next;
        if (clientGone) return finish(); // it left while waiting for another worker
        lane.served++;
        let active = false;
        lane.start(id, start, {
          onMessage,
          onLost,
          onActive: () => { active = true; onActive(); },
          onNeverStarted: () => {
            log.info({ ...where, thread: lane.worker }, 'its worker went before its turn: it runs on another');
            requeue(exchange);
          },
          movable: !start.hasBody,
        });
        if (!active && log.isLevelEnabled('debug')) log.debug({ ...where, thread: lane.worker }, 'waits its turn on a busy worker');
      },
    };

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
      if (r.t === 'withdrawn') {
        clearTimeout(timer); // the front may have counted it as started while the answer was on its way
        log.debug({ ...where, thread: lane.worker }, 'given back by a busy worker: it runs on a free one');
        return requeue(exchange, lane);
      }
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
    function onActive(): void {
      timer = setTimeout(onDeadline, timeoutMs); // --timeout counts from the moment its worker takes it up
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
      if (lane.load === 0) lane.stop();
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

/** One request's trip through the pool, as serve() sees it. */
interface Exchange {
  readonly id: number;
  readonly done: Promise<void>;
  /** The lane it is on (it moves only if its worker went, or gave it back, before its turn). */
  readonly lane: Lane;
  onCredit: () => void;
  tooLarge: (e: GatewayError) => void;
  moveTo(lane: Lane): void;
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
