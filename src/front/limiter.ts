// Admission control: at most `max` holders at once (or fewer while capped) and `maxQueue` waiting; beyond
// that, 503 at once.
import { GatewayError } from './errors.js';

export type Release = () => void;

export class Limiter {
  #max: number;
  #maxQueue: number;
  #cap = Infinity;
  /** Why the cap is on, for the queue-full message. */
  #capWhy = '';
  #active = 0;
  /** Told each time the number of holders changes (the pool's idle workers stop polling while scripts run). */
  onActive: (active: number) => void = () => {};
  #queue: { grant: (r: Release) => void; fail: (e: Error) => void }[] = [];

  constructor(max: number, maxQueue: number) {
    this.#max = max;
    this.#maxQueue = maxQueue;
  }

  get active(): number { return this.#active; }
  /** Holders allowed at once now, the configured most, and why they differ (the cap's reason; '' when none). */
  get limits(): { now: number; max: number; why: string } {
    return { now: this.#allowed, max: this.#max, why: this.#allowed < this.#max ? this.#capWhy : '' };
  }
  get queued(): number { return this.#queue.length; }
  get #allowed(): number { return Math.min(this.#max, this.#cap); }

  /**
   * Allows fewer holders at once than `max` for a while (Infinity lifts it). Holders above a lowered cap are
   * not cut short: their slots just do not pass on when they end. A raised cap admits waiters at once.
   */
  setCap(cap: number, why = ''): void {
    this.#cap = cap;
    this.#capWhy = why;
    while (this.#active < this.#allowed && this.#queue.length) {
      this.onActive(++this.#active);
      this.#queue.shift()!.grant(this.#releaser());
    }
  }

  /** Resolves with a release function once a slot is free; rejects with OVERLOADED when the queue is full. */
  acquire(signal?: AbortSignal): Promise<Release> {
    if (this.#active < this.#allowed) {
      this.onActive(++this.#active);
      return Promise.resolve(this.#releaser());
    }
    if (this.#queue.length >= this.#maxQueue) {
      const capped = this.#allowed < this.#max ? ` (at most ${this.#allowed} for now: ${this.#capWhy || 'capped'})` : '';
      return Promise.reject(new GatewayError('OVERLOADED', `${this.#active} running${capped} and ${this.#queue.length} waiting: queue full`));
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        grant: (r: Release) => { signal?.removeEventListener('abort', onAbort); resolve(r); },
        fail: reject,
      };
      const onAbort = () => {
        const i = this.#queue.indexOf(waiter);
        if (i !== -1) this.#queue.splice(i, 1);
        reject(signal!.reason instanceof Error ? signal!.reason : new Error('aborted while queued'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(waiter);
    });
  }

  #releaser(): Release {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#active <= this.#allowed ? this.#queue.shift() : undefined;
      if (next) next.grant(this.#releaser()); // the slot passes straight to the next waiter
      else this.onActive(--this.#active);
    };
  }
}
