// What the front has served, counted as each access line is written: totals by status class, and per mount
// (the access line's `via`) a histogram of latencies per second for the last minute and one since start. A
// request costs a Map lookup by an interned string and a few increments; everything else waits for a reader.
import { bucketCount, bucketOf, quantileMs } from './latency-histogram.js';

/** Status classes as the page and the metrics show them; 499 (the client left first) is its own. */
export const statusClasses = ['1xx', '2xx', '3xx', '4xx', '5xx', '499'] as const;
export type StatusClass = (typeof statusClasses)[number];

/** The row of second `s` (of performance.now()); `s` may be negative in a process's first minute. */
const rowOf = (s: number): number => (((s % historySeconds) + historySeconds) % historySeconds) * bucketCount;

const classIndex = (status: number): number => (status === 499 ? 5 : Math.min(4, Math.max(0, Math.floor(status / 100) - 1)));

/** Seconds of history kept (the page's chart, and the recent window for p50/p99). */
export const historySeconds = 60;
/** The recent window a mount's p50/p99 cover. */
export const recentSeconds = 10;

class MountStats {
  requests = 0;
  /** Answers with a 5xx status. */
  errors = 0;
  /** Per second of the last minute: `historySeconds` rows of `bucketCount` counts. */
  readonly perSecond = new Uint32Array(historySeconds * bucketCount);
  /** Since start, per status class: counts per bucket, and the sum of milliseconds (Prometheus's histogram). */
  readonly total = statusClasses.map(() => ({ counts: new Float64Array(bucketCount), sumMs: 0, count: 0 }));
}

export interface MountFigures {
  via: string;
  requests: number;
  errors: number;
  /** Over the last `recentSeconds`; null when nothing was served then. */
  p50Ms: number | null;
  p99Ms: number | null;
}

export interface SecondFigures {
  /** Seconds ago (0: the current, partial second). */
  ago: number;
  requests: number;
  p50Ms: number | null;
  p99Ms: number | null;
}

export class RequestStats {
  readonly #mounts = new Map<string, MountStats>();
  readonly #byClass = new Float64Array(statusClasses.length);
  /** The second (of performance.now()) the rows were last written for; rows of seconds since are cleared. */
  #second = Math.floor(performance.now() / 1000);
  #requests = 0;
  #unavailable = 0;

  get requests(): number {
    return this.#requests;
  }

  /** Answers with status 503. */
  get unavailable(): number {
    return this.#unavailable;
  }

  /** One request, as its access line is written; `endedAt` is its performance.now() (the line's own clock reading). */
  record(via: string, status: number, ms: number, endedAt = performance.now()): void {
    let m = this.#mounts.get(via);
    if (m === undefined) this.#mounts.set(via, (m = new MountStats()));
    const now = Math.floor(endedAt / 1000);
    if (now !== this.#second) this.#advance(now);
    const c = classIndex(status);
    const b = bucketOf(ms * 1000);
    this.#requests++;
    this.#byClass[c]!++;
    if (status === 503) this.#unavailable++;
    m.requests++;
    if (c === 4) m.errors++;
    m.perSecond[rowOf(now) + b]!++;
    const t = m.total[c]!;
    t.counts[b]!++;
    t.sumMs += ms;
    t.count++;
  }

  /** Clears the rows of the seconds that passed with nothing recorded (and the new current one). */
  #advance(now: number): void {
    const from = Math.max(this.#second + 1, now - historySeconds + 1);
    for (let s = from; s <= now; s++) {
      const at = rowOf(s);
      for (const m of this.#mounts.values()) m.perSecond.fill(0, at, at + bucketCount);
    }
    this.#second = now;
  }

  byClass(): Record<StatusClass, number> {
    return Object.fromEntries(statusClasses.map((k, i) => [k, this.#byClass[i]!])) as Record<StatusClass, number>;
  }

  /** Per mount: totals, and p50/p99 over the recent window. */
  mounts(): MountFigures[] {
    this.#advance(Math.floor(performance.now() / 1000));
    return [...this.#mounts].map(([via, m]) => {
      const recent = this.#recent(m);
      return { via, requests: m.requests, errors: m.errors, p50Ms: quantileMs(recent, 0.5), p99Ms: quantileMs(recent, 0.99) };
    });
  }

  /** The last minute, a row per second, oldest first: requests and latency over every mount. */
  history(): SecondFigures[] {
    const now = Math.floor(performance.now() / 1000);
    this.#advance(now);
    const out: SecondFigures[] = [];
    for (let ago = historySeconds - 1; ago >= 0; ago--) {
      const at = rowOf(now - ago);
      const row = new Uint32Array(bucketCount);
      for (const m of this.#mounts.values()) for (let b = 0; b < bucketCount; b++) row[b]! += m.perSecond[at + b]!;
      let requests = 0;
      for (const n of row) requests += n;
      out.push({ ago, requests, p50Ms: quantileMs(row, 0.5), p99Ms: quantileMs(row, 0.99) });
    }
    return out;
  }

  /** Since start, per mount and status class: what a Prometheus histogram reports. */
  totals(): { via: string; statusClass: StatusClass; counts: Float64Array; sumMs: number; count: number }[] {
    const out = [];
    for (const [via, m] of this.#mounts) {
      for (let c = 0; c < statusClasses.length; c++) {
        const t = m.total[c]!;
        if (t.count > 0) out.push({ via, statusClass: statusClasses[c]!, counts: t.counts, sumMs: t.sumMs, count: t.count });
      }
    }
    return out;
  }

  /** A mount's bucket counts over the last `recentSeconds`. */
  #recent(m: MountStats): Uint32Array {
    const row = new Uint32Array(bucketCount);
    for (let ago = 0; ago < recentSeconds; ago++) {
      const at = rowOf(this.#second - ago);
      for (let b = 0; b < bucketCount; b++) row[b]! += m.perSecond[at + b]!;
    }
    return row;
  }
}
