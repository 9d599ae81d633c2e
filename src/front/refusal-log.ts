// What a 503 for a full queue logs: the first refusal at once, then one line a second with how many more were
// refused, while they go on. Refusing is the server working as configured (warn, not error), and each refused
// request still has its access line with status 503. A line per refusal cost the front more than the refusal
// itself: in the soak's overload flood (5,000 refusals a second) it slowed the scripts the front had admitted.
import type { Logger } from './logger.js';

export class RefusalLog {
  readonly #log: Logger;
  readonly #everyMs: number;
  #timer: NodeJS.Timeout | null = null;
  /** Refusals since the last line, and the latest one's detail. */
  #count = 0;
  #latest = '';

  constructor(log: Logger, everyMs = 1_000) {
    this.#log = log;
    this.#everyMs = everyMs;
  }

  /** One request refused with 503 OVERLOADED; `detail` says which limit was full. */
  note(detail: string): void {
    if (this.#timer) {
      this.#count++;
      this.#latest = detail;
      return;
    }
    this.#log.warn({ code: 'OVERLOADED', status: 503 }, `refusing requests: ${detail}`);
    this.#timer = setInterval(() => this.#summarise(), this.#everyMs).unref();
  }

  #summarise(): void {
    // A quiet interval: the overload is over, and the next refusal is logged at once again.
    if (this.#count === 0) return this.stop();
    this.#log.warn({ code: 'OVERLOADED', status: 503, refused: this.#count }, `${this.#count} more requests refused; the latest: ${this.#latest}`);
    this.#count = 0;
  }

  /** Logs what is counted and not yet said (the server is stopping), and stops the timer. */
  stop(): void {
    if (this.#count > 0) this.#summarise();
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}
