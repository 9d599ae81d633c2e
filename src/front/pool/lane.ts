// The front's end of one worker: its lane task in piscina, the requests running on it, and how it ends.
import { MessageChannel } from 'node:worker_threads';
import type { Piscina } from 'piscina';
import { LaneChannel } from '../../workers/lane-channel.js';
import { limits } from '../options.js';
import type { FrontMessage, PoolTask, PoolTaskResult, RequestStart, ToFront, ToWorker, WorkerMessage } from '../../workers/protocol.js';

/** A request on a lane: where its messages go, and what it is told as its turn comes or its worker goes. */
export interface LaneRequest {
  readonly id: number;
  onMessage(msg: WorkerMessage): void;
  /** Its turn came: the worker runs it now (the front infers this from the worker's strict order). */
  onActive(): void;
  /** The worker went while it ran (or it had sent a body there): it can only fail. */
  onLost(why: string): void;
  /** The worker went before its turn: it never started, so it can run elsewhere. */
  onNeverStarted(): void;
  /** Whether it could run elsewhere: false once anything of it (a body) went to this worker. */
  readonly movable: boolean;
  /** Its decoded path, without the query: what the status page shows of it. */
  readonly path: string;
}

/** Why the front terminates a worker: what a restart is counted as follows from it. */
export type KillReason = 'timeout' | 'retired' | 'graceful timeout passed';

/** One worker as the status page shows it. */
export interface LaneFigures {
  /** The pool's worker slot (0 … --workers − 1). */
  slot: number;
  thread: number;
  state: 'starting' | 'idle' | 'running' | 'retiring';
  /** Requests it has taken. */
  served: number;
  /** Requests waiting their turn on it. */
  waiting: number;
  /** What it runs now, and since how long (ms). */
  running: { id: number; path: string; forMs: number }[];
  /** Its V8 heap (MiB), as it last said (every couple of seconds); null before it has. */
  heapMb: { used: number; total: number } | null;
}

export class Lane {
  /** Settles when the worker has imported its apps and said hello; rejects if it dies first. */
  readonly ready: Promise<void>;
  /** The piscina task: resolves when the lane is stopped, rejects when its worker dies or is terminated. */
  readonly task: Promise<PoolTaskResult>;
  /** Requests on this lane plus those granted a place on it and about to start. */
  load = 0;
  /** Requests this lane has taken; it retires at its quota (--max-requests). */
  served = 0;
  quota = Infinity;
  /** No new requests; it ends once its last one is done. */
  retiring = false;
  /** True from the moment it is stopped, killed or found dead. */
  over = false;
  worker = 0;
  #channel: LaneChannel<ToWorker, ToFront>;
  #abort = new AbortController();
  /**
   * Requests in the order the worker got them: it runs the first `#concurrency` of those still here. A short
   * array searched by id, not a Map: a Map that gains and loses an entry per request is rebuilt every few
   * requests, and each old table points to the next; once a mark-compact promoted one, every later table
   * (and every request it held) was kept alive through that chain and promoted in turn (~15% of what the front
   * allocated, measured with --trace-gc-nvp).
   */
  #order: LaneRequest[] = [];
  #concurrency: number;
  #isReady = false;
  /** The worker's heap, as it last said (bytes). */
  #heap: { used: number; total: number } | null = null;
  /** Ids of waiting requests asked back (withdraw): each is asked once. */
  #withdrawing: number[] = [];
  /** When the latest turn came (performance.now()): the running request has run at least since then. */
  #turnAt = 0;
  /**
   * How long the app recently had a request here, in µs, as the worker timed it (the front's clock would add its
   * own lag in hearing of each end, which under load kept lanes ~3 deep); it starts as if slow, so the first
   * requests are not piled up here.
   */
  #serviceUs = limits.withdrawAfterMs * 1000;

  constructor(pool: Piscina<PoolTask, PoolTaskResult>, concurrency: number) {
    this.#concurrency = concurrency;
    const { port1, port2 } = new MessageChannel();
    let hello!: () => void;
    let failed!: (e: Error) => void;
    this.ready = new Promise((resolve, reject) => { hello = resolve; failed = reject; });
    this.ready.catch(() => {}); // a lane that dies before hello is reported through `task`
    this.#channel = new LaneChannel(port1, (msg) => {
      if (msg.t === 'heap') {
        this.#heap = { used: msg.used, total: msg.total };
        return;
      }
      if (msg.t === 'hello') {
        this.worker = msg.worker;
        this.#isReady = true;
        return hello();
      }
      // A request's last message carries how long the app had it: the pace `depth` follows.
      if ((msg.t === 'response' || msg.t === 'result') && msg.us !== undefined) this.#serviceUs += (msg.us - this.#serviceUs) / 8;
      this.#find(msg.id)?.onMessage(msg);
    });
    this.task = pool.run({ port: port2 }, { transferList: [port2], signal: this.#abort.signal });
    this.task.then(
      () => {
        this.endedBy = 'stopped';
        this.#end('its worker stopped');
      },
      (e: Error) => {
        this.endedBy = this.#abort.signal.aborted ? 'killed' : (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'crash';
        failed(e);
        // What the worker posted before it died is still queued: deliver it first, so a request whose
        // result is there counts as finished and the next one as the one that was running.
        this.#channel.drain();
        this.#end(this.#abort.signal.aborted ? `its worker was terminated (${String(this.#abort.signal.reason)})` : `worker died: ${e.message}`);
      },
    );
  }

  /** The pool's worker slot this lane fills (a replacement takes its predecessor's). */
  slot = 0;
  /** Why its worker went, once it has: what a restart is counted as (crash, memory, timeout, recycle). */
  endedBy: 'crash' | 'memory' | 'killed' | 'stopped' | null = null;

  describe(): LaneFigures {
    const now = performance.now();
    const running = this.#order.slice(0, this.#concurrency).map((r) => ({ id: r.id, path: r.path, forMs: Math.round(now - this.#turnAt) }));
    const state = !this.#isReady ? 'starting' : this.retiring ? 'retiring' : running.length > 0 ? 'running' : 'idle';
    const mb = (b: number) => Math.round(b / 104857.6) / 10;
    const heapMb = this.#heap && { used: mb(this.#heap.used), total: mb(this.#heap.total) };
    return { slot: this.slot, thread: this.worker, state, served: this.served, waiting: Math.max(0, this.#order.length - this.#concurrency), running, heapMb };
  }

  /** Why it was killed (a timeout, retirement, shutdown), if it was. */
  get killReason(): KillReason | undefined {
    return this.#abort.signal.aborted ? (this.#abort.signal.reason as KillReason) : undefined;
  }

  get isReady(): boolean {
    return this.#isReady && !this.over && !this.retiring;
  }

  /** Whether the lane's end was asked for (a timeout, retirement, shutdown) rather than a crash. */
  get killed(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Requests on the lane, running or waiting their turn on the worker. */
  get queued(): number {
    return this.#order.length;
  }

  /** Sends the request down the lane; true if its turn is now, false if it waits behind others. */
  start(req: { id: number } & RequestStart, handler: LaneRequest): boolean {
    this.#order.push(handler);
    this.#channel.post(req);
    if (this.#order.length > this.#concurrency) return false;
    this.#turn(handler);
    return true;
  }

  /**
   * Requests that may wait their turn here beyond those running: as many as this worker's recent pace gets
   * through in `limits.withdrawAfterMs`, from 2 (a slow or blocking app) to `limits.lanePipelineDepth` (a
   * quick one). A worker that blocks on a long request cannot give its waiting requests back until it ends.
   */
  get depth(): number {
    const fits = Math.floor((limits.withdrawAfterMs * 1000) / Math.max(1, this.#serviceUs));
    return Math.max(2, Math.min(limits.lanePipelineDepth, fits));
  }

  #turn(handler: LaneRequest): void {
    this.#turnAt = performance.now();
    handler.onActive();
  }

  /** When the request(s) running here started, if a request that could move waits behind them; else null. */
  get blockedSince(): number | null {
    for (let i = this.#concurrency; i < this.#order.length; i++) {
      const r = this.#order[i]!;
      if (r.movable && !this.#withdrawing.includes(r.id)) return this.#turnAt;
    }
    return null;
  }

  /** After the request just started leaves, poll for its answer for up to `us` µs (the front has nothing else to do). */
  awaitAnswer(us: number): void {
    this.#channel.awaitAnswer(us);
  }

  send(id: number, msg: FrontMessage, transfer?: ArrayBuffer[]): void {
    this.#channel.post({ ...msg, id }, transfer);
  }

  /**
   * Asks the worker to give back the last request still waiting its turn here, so a free worker can run it;
   * it answers with a 'withdrawn' result, or runs it if its turn came first. False when none can move.
   */
  withdrawOne(): boolean {
    if (this.over) return false; // its requests are about to be requeued anyway
    for (let i = this.#order.length - 1; i >= this.#concurrency; i--) {
      const r = this.#order[i]!;
      if (!r.movable || this.#withdrawing.includes(r.id)) continue;
      this.#withdrawing.push(r.id);
      this.send(r.id, { t: 'withdraw' });
      return true;
    }
    return false;
  }

  /** The request is over on the front's side: later messages about it are dropped, and the next one's turn comes. */
  finish(id: number): void {
    const w = this.#withdrawing.indexOf(id);
    if (w >= 0) this.#withdrawing.splice(w, 1);
    let at = 0;
    while (at < this.#order.length && this.#order[at]!.id !== id) at++;
    if (at === this.#order.length) return;
    this.#order.splice(at, 1);
    if (at < this.#concurrency && this.#order.length >= this.#concurrency) this.#turn(this.#order[this.#concurrency - 1]!);
  }

  /** Asks the worker to end its task (only when nothing runs on it): its thread stays for piscina to reuse. */
  stop(): void {
    if (this.over) return;
    this.over = true;
    this.#channel.post({ id: 0, t: 'stop' });
  }

  /** Terminates the worker thread (piscina does so on abort); whatever runs on it is lost. */
  kill(reason: KillReason): void {
    this.over = true;
    this.#abort.abort(reason);
  }

  #find(id: number): LaneRequest | undefined {
    for (const r of this.#order) if (r.id === id) return r;
    return undefined;
  }

  #end(why: string): void {
    this.over = true;
    this.#channel.close();
    const order = this.#order;
    this.#order = [];
    // Last first: each request that never started goes back to the head of the pool's queue, so they keep their order.
    for (let i = order.length - 1; i >= 0; i--) {
      const r = order[i]!;
      if (i >= this.#concurrency && r.movable) r.onNeverStarted();
      else r.onLost(why);
    }
  }
}
