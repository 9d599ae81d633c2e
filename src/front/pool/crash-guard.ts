// Rate-limits worker deaths: when workers keep dying, dispatch pauses (503) with a growing back-off,
// so a broken app becomes a logged, bounded event instead of a respawn storm.

export class CrashGuard {
  readonly #windowMs: number;
  readonly #maxDeaths: number;
  #deaths: number[] = [];
  #pausedUntil = 0;
  #backoffMs: number;
  readonly #initialBackoffMs: number;
  readonly #maxBackoffMs: number;

  constructor(opts: { windowMs?: number; maxDeaths?: number; backoffMs?: number; maxBackoffMs?: number } = {}) {
    this.#windowMs = opts.windowMs ?? 10_000;
    this.#maxDeaths = opts.maxDeaths ?? 5;
    this.#initialBackoffMs = this.#backoffMs = opts.backoffMs ?? 1_000;
    this.#maxBackoffMs = opts.maxBackoffMs ?? 30_000;
  }

  /** Records a death; returns the pause (ms) it started, or 0. */
  recordDeath(now = Date.now()): number {
    this.#deaths = this.#deaths.filter((t) => now - t < this.#windowMs);
    this.#deaths.push(now);
    if (this.#deaths.length < this.#maxDeaths) return 0;
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
}
