// The pool's dispatch: which lane takes a request, the queue of admitted requests waiting for room on one,
// and moving a request that waits behind a slow one to a worker that is free.
import { limits } from '../options.js';
import type { Lane } from './lane.js';
import type { PoolExchange } from './pool-exchange.js';

export class LaneQueue {
  /** Every lane that may take requests (or is starting, retiring, or about to be found dead). */
  readonly lanes = new Set<Lane>();
  /** Admitted requests waiting for room on a lane, first come first served. */
  readonly #waiting: PoolExchange[] = [];
  readonly #runs: number;
  #helpTimer: NodeJS.Timeout | undefined;
  closing = false;

  /** `runs`: requests a worker runs at once (--worker-concurrency). */
  constructor(runs: number) {
    this.#runs = runs;
  }

  get length(): number {
    return this.#waiting.length;
  }

  /** On a lane at once if one has room and nobody is ahead, else in turn. */
  place(ex: PoolExchange): void {
    if (this.#waiting.length === 0) {
      const lane = this.#pick(ex.movable);
      if (lane) {
        lane.load++;
        return ex.moveTo(lane);
      }
    }
    this.#enqueue(ex, false);
  }

  /** It never ran where it was (its worker went, or gave it back): to the head of the queue. */
  requeue(ex: PoolExchange): void {
    this.#enqueue(ex, true);
  }

  #enqueue(ex: PoolExchange, first: boolean): void {
    if (first) this.#waiting.unshift(ex);
    else this.#waiting.push(ex);
    ex.dequeue = () => {
      const i = this.#waiting.indexOf(ex);
      if (i >= 0) this.#waiting.splice(i, 1);
    };
    ex.onQueued(this.#waiting.length);
  }

  /** Hands lane places to queued requests, in order. */
  pump(): void {
    while (this.#waiting.length) {
      const lane = this.#pick(this.#waiting[0]!.movable);
      if (!lane) return;
      lane.load++;
      const ex = this.#waiting.shift()!;
      ex.dequeue = null;
      ex.moveTo(lane);
    }
  }

  /**
   * The lane with the most room. A request without a body may also wait its turn on a busy worker, as many
   * as that worker's recent pace gets through in `limits.withdrawAfterMs` (lane.depth): it then finds them
   * there as each ends, instead of idling while the front hears of the end and sends the next. A request
   * with a body (which goes to the worker as it arrives) only takes a lane that can run it at once.
   */
  #pick(canWait: boolean): Lane | null {
    let best: Lane | null = null;
    for (const lane of this.lanes) {
      if (!lane.isReady || lane.load >= this.#runs + (canWait ? lane.depth : 0)) continue;
      if (!best || lane.load < best.load) best = lane;
    }
    return best;
  }

  /**
   * A worker is free and nobody is queued: take back a request waiting its turn behind one that has run for
   * `limits.withdrawAfterMs` (a quicker one usually ends before the round trip of moving would pay off), and
   * look again when the next one reaches that age.
   */
  offerHelp(): void {
    clearTimeout(this.#helpTimer);
    if (this.closing || this.#waiting.length) return;
    let free = false;
    let blocked = false;
    for (const lane of this.lanes) {
      free ||= lane.isReady && lane.load < this.#runs;
      blocked ||= lane.load > this.#runs;
    }
    if (!free || !blocked) return;
    const now = performance.now();
    let soonest = Infinity;
    for (const lane of this.lanes) {
      const since = lane.blockedSince;
      if (since === null) continue;
      const wait = since + limits.withdrawAfterMs - now;
      if (wait <= 0 && lane.withdrawOne()) return; // its answer requeues it, and the release looks again
      soonest = Math.min(soonest, wait);
    }
    if (soonest < Infinity) this.#helpTimer = setTimeout(() => this.offerHelp(), Math.max(1, soonest)).unref();
  }

  stop(): void {
    this.closing = true;
    clearTimeout(this.#helpTimer);
  }
}
