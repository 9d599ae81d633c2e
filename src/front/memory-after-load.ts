// After a load has gone, one full collection gives back what it left in the old generation: the sockets and
// parsers of a burst of connections (thousands of slow clients dropped), the requests of a flood. V8 collects
// the old generation only when it fills, or when its memory reducer sees the isolate quiet just after a
// mark-compact; when the load ends later than that, nothing allocates enough to trigger either, and the memory
// stays for good (the soak: 122 → 135 MiB after 30 s of quiet once 5,000 held connections went, 23 MB of dead
// heap and no mark-compact; after the faults scenario 88 → 105 MiB in one run, 88 → 86 in another). Judged by
// the heap's growth, not by a count of requests: a short flood of a few thousand 503s left 10 MiB behind.
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
  /** Heap grown since the last collection, once no request has arrived for a whole check interval. */
  heapGrowthBytes: 4 * 1024 * 1024,
  checkEveryMs: 1_000,
};

const heapUsed = () => v8.getHeapStatistics().used_heap_size;

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
  readonly #heapUsed: () => number;
  readonly #log: Logger;
  readonly #collect: Collect | null = collector();
  readonly #timer: NodeJS.Timeout;
  /** The most connections open at once since the last collection. */
  #peak = 0;
  /** The request count at the last collection, and at the last check. */
  #requestsAtCollection: number;
  #requestsAtCheck: number;
  /** The heap in use just after the last collection; null until the check after it has read it. */
  #heapBaseline: number | null;

  /**
   * `requests` counts the requests the server has started, ever; `heap` is the bytes of heap in use (V8's
   * figure by default).
   */
  constructor(connections: ConnectionCount, requests: () => number, log: Logger, heap: () => number = heapUsed) {
    this.#connections = connections;
    this.#requests = requests;
    this.#heapUsed = heap;
    this.#log = log;
    this.#requestsAtCollection = this.#requestsAtCheck = requests();
    this.#heapBaseline = heap();
    this.#timer = setInterval(() => this.check(), afterLoad.checkEveryMs).unref();
  }

  /**
   * Collects once if a burst of connections has gone, or if the server has gone quiet after requests that left
   * the heap grown since the last collection.
   */
  check(): boolean {
    this.#peak = Math.max(this.#peak, this.#connections.takePeak());
    const open = this.#connections.open;
    const requests = this.#requests();
    const quiet = requests === this.#requestsAtCheck;
    this.#requestsAtCheck = requests;
    const heap = this.#heapUsed();
    if (this.#heapBaseline === null) {
      this.#heapBaseline = heap; // the collection has run since the last check
      return false;
    }
    const burstGone = this.#peak - open >= afterLoad.connections;
    const loadGone = quiet && requests > this.#requestsAtCollection && heap - this.#heapBaseline >= afterLoad.heapGrowthBytes;
    if (!(burstGone || loadGone) || !this.#collect) return false;
    this.#log.debug({ peak: this.#peak, open, requests: requests - this.#requestsAtCollection, heapGrownBy: heap - this.#heapBaseline }, 'a load has gone: full collection');
    this.#peak = open;
    this.#requestsAtCollection = requests;
    this.#heapBaseline = null;
    // On a task of its own rather than inside this call: one pause of tens of milliseconds per load (13 and
    // 29 ms after the soak's 5,000 held connections went), where the memory it returns was held for good.
    this.#collect({ type: 'major', execution: 'async' });
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
