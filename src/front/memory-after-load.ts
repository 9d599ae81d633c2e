// After a load has gone, one full collection gives back what it left in the old generation: the sockets and
// parsers of a burst of connections (thousands of slow clients dropped), the requests of a flood. V8 collects
// the old generation only when it fills, or when its memory reducer sees the isolate quiet just after a
// mark-compact; when the load ends later than that, nothing allocates enough to trigger either, and the memory
// stays for good (the soak: 122 → 135 MiB after 30 s of quiet once 5,000 held connections went, 23 MB of dead
// heap and no mark-compact; after the faults scenario 88 → 105 MiB in one run, 88 → 86 in another).
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from './logger.js';

type Collect = (options: { type: 'major'; execution: 'async' }) => void;

/** What the check reads: connections open now, and the most open at once since it last asked. */
export interface ConnectionCount {
  readonly open: number;
  takePeak(): number;
}

/** When a collection is worth its pause (tens of milliseconds, once per load). */
export const afterLoad = {
  /** Connections gone since the peak. */
  connections: 1_000,
  /** Requests since the last collection, once none has arrived for a whole check interval. */
  requests: 10_000,
  checkEveryMs: 1_000,
};

/**
 * V8's collector, without --expose-gc on the command line (the gatehouse command is often started by another
 * program): the flag is set just long enough for a fresh context to be given `gc`, which works on this isolate.
 */
function collector(): Collect | null {
  const exposed = (globalThis as { gc?: Collect }).gc;
  if (typeof exposed === 'function') return exposed;
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as Collect | undefined;
  v8.setFlagsFromString('--no-expose-gc');
  return typeof gc === 'function' ? gc : null;
}

export class MemoryAfterLoad {
  readonly #connections: ConnectionCount;
  readonly #requests: () => number;
  readonly #log: Logger;
  readonly #collect: Collect | null = collector();
  readonly #timer: NodeJS.Timeout;
  /** The most connections open at once since the last collection. */
  #peak = 0;
  /** The request count at the last collection, and at the last check. */
  #requestsAtCollection: number;
  #requestsAtCheck: number;

  /** `requests` counts the requests the server has started, ever. */
  constructor(connections: ConnectionCount, requests: () => number, log: Logger) {
    this.#connections = connections;
    this.#requests = requests;
    this.#log = log;
    this.#requestsAtCollection = this.#requestsAtCheck = requests();
    this.#timer = setInterval(() => this.check(), afterLoad.checkEveryMs).unref();
  }

  /** Collects once if a burst of connections, or a load of requests now quiet, has gone since the last time. */
  check(): boolean {
    this.#peak = Math.max(this.#peak, this.#connections.takePeak());
    const open = this.#connections.open;
    const requests = this.#requests();
    const quiet = requests === this.#requestsAtCheck;
    this.#requestsAtCheck = requests;
    const burstGone = this.#peak - open >= afterLoad.connections;
    const loadGone = quiet && requests - this.#requestsAtCollection >= afterLoad.requests;
    if (!(burstGone || loadGone) || !this.#collect) return false;
    this.#log.debug({ peak: this.#peak, open, requests: requests - this.#requestsAtCollection }, 'a load has gone: full collection');
    this.#peak = open;
    this.#requestsAtCollection = requests;
    // On a task of its own rather than inside this call: one pause of tens of milliseconds per load (13 and
    // 29 ms after the soak's 5,000 held connections went), where the memory it returns was held for good.
    this.#collect({ type: 'major', execution: 'async' });
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
