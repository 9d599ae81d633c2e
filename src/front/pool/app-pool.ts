// Front side of pool mode: a piscina pool of warm worker threads, each serving a lane (lane.ts), their
// lives (start, replace, retire, drain), and the gateway's own admission. Dispatch is lane-queue.ts; one
// request's trip is pool-exchange.ts.
import { Piscina } from 'piscina';
import type { MountFacts } from '../environ.js';
import type { RequestRun } from '../request-run.js';
import { GatewayError } from '../errors.js';
import type { Logger } from '../logger.js';
import { limits, type Options } from '../options.js';
import { builtFile } from '../package-root.js';
import { mayHaveBody, noBody, prepareBody, type PreparedBody } from '../request-body.js';
import { sendError } from '../send-error.js';
import { type PoolTask, type PoolTaskResult, type PoolWorkerData, type RequestStart } from '../../workers/protocol.js';
import { packRequest } from '../../workers/request-wire.js';
import { AppLoadError } from '../check-apps.js';
import { CrashGuard } from './crash-guard.js';
import { Deadlines } from './deadlines.js';
import { Lane } from './lane.js';
import { LaneQueue } from './lane-queue.js';
import { PoolExchange } from './pool-exchange.js';
import { PortWritable } from './port-writable.js';
import { noRestarts, restartReason, type PoolFigures, type RestartReason } from './pool-figures.js';

export interface AppMount {
  prefix: string;
  /** Absolute path of the app module. */
  module: string;
}

export class AppPool {
  readonly #pool: Piscina<PoolTask, PoolTaskResult>;
  readonly #options: Options;
  readonly #apps: AppMount[];
  readonly #log: Logger;
  readonly #guard = new CrashGuard();
  readonly #queue: LaneQueue;
  /** --timeout of every running request, on one timer. */
  readonly #deadlines = new Deadlines();
  #inFlight = 0;
  /** #inFlight and the CGI programs running, shared with the workers: see PoolWorkerData.poolLoad. */
  #load = new Int32Array(new SharedArrayBuffer(8));
  /** Recent time from dispatch to the end of a request (a moving average), in µs. */
  #recentUs = 0;
  #nextId = 1;
  #closing = false;
  readonly #restarts = noRestarts();

  /** Per worker slot: why its workers were replaced. */
  readonly #slotRestarts: Record<RestartReason, number>[] = [];

  describe(): PoolFigures {
    return {
      workers: [...this.#queue.lanes].map((l) => ({ ...l.describe(), restarts: { ...(this.#slotRestarts[l.slot] ?? noRestarts()) } })),
      queued: this.#queue.length,
      inFlight: this.#inFlight,
      restarts: { ...this.#restarts },
      pausedMs: this.pausedMs,
    };
  }

  /** Dispatch paused because workers keep dying, for this many ms more (0: not paused). */
  get pausedMs(): number {
    return this.#guard.pausedFor();
  }

  /** CGI programs running beside the pool (script slots held): idle workers do not poll meanwhile. */
  set programsRunning(n: number) {
    Atomics.store(this.#load, 1, n);
  }

  /** Told when the pool goes from idle to serving and back (the gateway caps CGI meanwhile). */
  onBusy: (busy: boolean) => void = () => {};
  /** Wakes close() when the last admitted request is done. */
  #drained: (() => void) | null = null;

  /**
   * Starts the workers and waits until each has imported every app. The workers are the import check: a
   * module that throws or exports no app fails their start, and the pool is refused with an AppLoadError.
   */
  static async start(apps: AppMount[], options: Options, log: Logger): Promise<AppPool> {
    const pool = new AppPool(apps, options, log);
    pool.#starting = true;
    const lanes = Array.from({ length: options.workers }, (_, slot) => pool.#startLane(slot));
    let timer: NodeJS.Timeout | undefined;
    const slow = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`importing ${apps.map((a) => a.module).join(', ')} took over ${limits.appImportTimeoutMs} ms`)), limits.appImportTimeoutMs);
    });
    try {
      await Promise.race([Promise.all(lanes.map((l) => l.ready)), slow]);
    } catch (e) {
      await pool.destroy();
      throw new AppLoadError(`app module ${(e as Error).message}`);
    } finally {
      clearTimeout(timer);
    }
    pool.#starting = false;
    return pool;
  }

  /** Until every worker is warm: a worker's failure then is the start's failure, reported by whoever started it. */
  #starting = false;

  private constructor(apps: AppMount[], options: Options, log: Logger) {
    this.#apps = apps;
    this.#options = options;
    this.#log = log.child({ component: 'pool' });
    this.#queue = new LaneQueue(options.workerConcurrency);
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
        // A worker waiting awake for its next request holds a core, but only while the pool is all but idle and no
        // CGI program runs. On 2 cores with 2 workers (hello, c=1, the bench's latency probe, alternated runs) it
        // took p50 from 0.24–0.30 to 0.14–0.23 ms (bare node:http: 0.10–0.13); p99 moved within its noise.
        idleSpinUs: options.idleSpinUs,
        poolLoad: this.#load.buffer as SharedArrayBuffer,
      } satisfies PoolWorkerData,
      ...(options.workerMemoryMb > 0 ? { resourceLimits: { maxOldGenerationSizeMb: options.workerMemoryMb } } : {}),
      closeTimeout: options.gracefulTimeoutMs,
    });
    // An uncaught error in an idle worker is emitted here; without a listener it would crash the front.
    this.#pool.on('error', (e: Error) => {
      if (!this.#starting) this.#log.error({ err: e.message }, 'worker error outside a request');
    });
  }

  /** A new worker and its lane; when the lane ends for any reason but shutdown or retirement, another takes its place. */
  /**
   * A new worker and its lane in worker slot `slot` (0 … --workers − 1; a replacement takes its predecessor's);
   * when the lane ends for any reason but shutdown or retirement, another takes its place.
   */
  #startLane(slot: number): Lane {
    const lane = new Lane(this.#pool, this.#options.workerConcurrency);
    lane.slot = slot;
    const limit = this.#options.maxRequests;
    // --max-requests plus up to 10% jitter, so workers do not all retire at once.
    if (limit > 0) lane.quota = limit + Math.floor(Math.random() * (limit * 0.1 + 1));
    this.#queue.lanes.add(lane);
    void lane.ready.then(() => this.#queue.pump(), () => {});
    const gone = (crashed: boolean) => {
      this.#queue.lanes.delete(lane);
      const reason = restartReason(lane);
      if (reason) {
        this.#restarts[reason]++;
        (this.#slotRestarts[slot] ??= noRestarts())[reason]++;
      }
      let pause = 0;
      if (crashed) {
        pause = this.#guard.recordDeath();
        if (pause > 0) this.#log.error({ pauseMs: pause }, 'workers keep dying: pausing dispatch');
      }
      // A worker that keeps dying is replaced after the pause, not at once: no respawn storm.
      if (!this.#closing && !lane.retiring) {
        if (pause > 0) setTimeout(() => { if (!this.#closing) this.#startLane(slot); }, pause).unref();
        else this.#startLane(slot);
      }
      this.#queue.pump();
    };
    lane.task.then(() => gone(false), () => gone(!lane.killed));
    return lane;
  }

  /** Gives the lane place back; a lane at its --max-requests quota retires once idle, its replacement already started. */
  #release(lane: Lane): void {
    lane.load--;
    if (!lane.retiring && !lane.over && lane.served >= lane.quota) {
      lane.retiring = true;
      if (!this.#closing) this.#startLane(lane.slot);
    }
    if (lane.retiring && lane.load === 0 && !lane.over) {
      this.#log.info({ thread: lane.worker }, 'worker served its --max-requests: retired');
      lane.kill('retired');
    }
    this.#queue.pump();
    this.#queue.offerHelp();
  }

  /**
   * Runs one request on the app at `appIndex`. Throws a GatewayError while a status page is still possible;
   * a failure found later is answered here (sendError). A request without a body is dispatched with no
   * promise, await or closure of its own: it returns undefined; one with a body returns a promise that
   * settles once the body is read and dispatched.
   */
  serve(run: RequestRun, appIndex: number, mount: MountFacts): Promise<void> | undefined {
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
    if (run.withBody && mayHaveBody(run.req)) return this.#serveWithBody(run, appIndex, mount);
    try {
      this.#dispatch(run, appIndex, mount, noBody);
    } catch (e) {
      this.#left();
      throw e;
    }
    return undefined;
  }

  async #serveWithBody(run: RequestRun, appIndex: number, mount: MountFacts): Promise<void> {
    const o = this.#options;
    let body: PreparedBody;
    try {
      body = await prepareBody(run.req, { maxBodyBytes: o.maxBodyBytes, chunkedBody: o.chunkedBody, spoolThresholdBytes: limits.spoolThresholdBytes });
    } catch (e) {
      this.#left();
      throw e;
    }
    try {
      this.#dispatch(run, appIndex, mount, body);
    } catch (e) {
      this.#left();
      void body.cleanup();
      throw e;
    }
  }

  #dispatch(run: RequestRun, appIndex: number, mount: MountFacts, body: PreparedBody): void {
    const o = this.#options;
    const hasBody = body.streamedChunked || (body.length ?? 0) > 0;
    const start: { id: number } & RequestStart = {
      t: 'request',
      id: this.#nextId++,
      app: appIndex,
      request: packRequest({ facts: run.facts, mount, body, policy: { passAuth: o.passAuth } }),
      url_scheme: run.facts.scheme,
      hasBody,
    };
    const ex = new PoolExchange(run, this.#apps[appIndex]!.prefix, start, o.timeoutMs, this.#deadlines, this.#requeue, this.#over);
    ex.body = body;
    ex.dispatchedAt = performance.now();
    this.#queue.place(ex);
    const lane = ex.lane;
    // Alone in the pool, with an app that answers quickly: wait awake for the answer rather than pay for
    // being woken. The event loop is held for at most --idle-spin, and only when nothing else is in the pool.
    const spin = o.idleSpinUs;
    if (lane && spin > 0 && this.#inFlight === 1 && !hasBody && this.#recentUs < spin) lane.awaitAnswer(spin);
    if (hasBody) {
      const s = new PortWritable(ex);
      ex.sink = s;
      ex.onCredit = () => s.credit();
      ex.whenPlaced(() => body.pipeTo(s, (e) => ex.tooLarge(e)));
    }
  }

  /** The request is over on the front's side: its place in the pool and on its lane are given back. */
  readonly #over = (ex: PoolExchange, err?: GatewayError): void => {
    this.#recentUs += ((performance.now() - ex.dispatchedAt) * 1000 - this.#recentUs) / 4;
    this.#left();
    ex.sink?.destroy(); // an unread body is drained by the request side, not left paused
    if (ex.body !== noBody) void ex.body.cleanup();
    const lane = ex.lane;
    if (lane) {
      lane.finish(ex.id);
      this.#release(lane);
    }
    if (err) sendError(ex.run.res, err, ex.run.log, this.#options.debug);
    else this.#guard.recordServed();
  };

  /** One request fewer in the pool. */
  #left(): void {
    Atomics.store(this.#load, 0, --this.#inFlight);
    if (this.#inFlight === 0) {
      this.onBusy(false);
      this.#drained?.();
    }
  }

  /** An exchange that never ran where it was goes to the head of the queue; its old lane place is given back. */
  readonly #requeue = (ex: PoolExchange, from?: Lane) => {
    this.#queue.requeue(ex);
    if (from) {
      from.served--;
      from.finish(ex.id);
      this.#release(from); // pumps
    } else this.#queue.pump();
  };

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
    this.#queue.stop();
    for (const lane of this.#queue.lanes) {
      if (lane.load === 0) lane.stop();
      else lane.kill('graceful timeout passed');
    }
    await Promise.allSettled([...this.#queue.lanes].map((l) => l.task));
    this.#deadlines.stop();
    await this.#pool.close();
  }

  /** Shutdown after the grace period: running requests are cut. */
  async destroy(): Promise<void> {
    this.#closing = true;
    this.#queue.stop();
    this.#deadlines.stop();
    await this.#pool.destroy();
  }
}
