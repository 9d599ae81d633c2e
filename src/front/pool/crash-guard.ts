// Rate-limits worker deaths: when workers keep dying, dispatch pauses (503) with a growing back-off,
// so a broken app becomes a logged, bounded event instead of a respawn storm.

/** Requests answered per worker death below which deaths count as a crash loop. */
const servedPerDeath = 10;

export class CrashGuard {
  readonly #windowMs: number;
  readonly #maxDeaths: number;
  #deaths: number[] = [];
  #pausedUntil = 0;
  #backoffMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;
  /** Requests answered, per second of the window (a ring): deaths are judged against them. */
  readonly #served: number[];
  #servedSecond = 0;

  constructor(opts: { windowMs?: number; maxDeaths?: number; backoffMs?: number; maxBackoffMs?: number } = {}) {
    this.#windowMs = opts.windowMs ?? 10_000;
    this.#maxDeaths = opts.maxDeaths ?? 5;
    this.#initialBackoffMs = this.#backoffMs = opts.backoffMs ?? 1_000;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 30_000;
    this.#served = new Array<number>(Math.max(1, Math.ceil(this.#windowMs / 1000))).fill(0);
  }

  /** A request was answered by a worker that lived through it. */
  recordServed(now = Date.now()): void {
    this.#advance(now);
    this.#served[this.#servedSecond % this.#served.length]!++;
  }

  /**
   * Records a death; returns the pause (ms) it started, or 0. Workers "keep dying" when `maxDeaths` died within
   * the window and fewer than `servedPerDeath` requests were answered for each: an app that crashes on one
   * request in a hundred under load is restarted each time, as a process manager would, not paused for.
   */
  recordDeath(now = Date.now()): number {
    this.#deaths = this.#deaths.filter((t) => now - t < this.#windowMs);
    this.#deaths.push(now);
    if (this.#deaths.length < this.#maxDeaths) return 0;
    this.#advance(now);
    const served = this.#served.reduce((a, b) => a + b, 0);
    if (served >= servedPerDeath * this.#deaths.length) return 0;
    const pause = this.#backoffMs;
    this.#pausedUntil = now + pause;
    this.#backoffMs = Math.min(this.#backoffMs * 2, this.#maxBackoffMs);
    this.#deaths = [];
    return pause;
  }

  /** Milliseconds of pause left; 0 when dispatch may go on. */
  pausedFor(now = Date.now()): number {
    const left = this.#pausedUntil - now;
    if (left <= 0 && this.#deaths.length === 0 && now - this.#pausedUntil > this.#windowMs) this.#backoffMs = this.#initialBackoffMs;
    return Math.max(0, left);
  }

  /** Moves the ring to the second of `now`, zeroing the seconds that passed unseen. */
  #advance(now: number): void {
    const second = Math.floor(now / 1000);
    if (second === this.#servedSecond) return;
    const gap = Math.min(second - this.#servedSecond, this.#served.length);
    for (let i = 1; i <= gap; i++) this.#served[(this.#servedSecond + i) % this.#served.length] = 0;
    this.#servedSecond = second;
  }
}
