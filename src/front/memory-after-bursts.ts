// After a burst of connections has gone (thousands of slow clients dropped, a flood over), one full collection
// gives back what their sockets, parsers and requests held. V8 collects the old generation only when it fills
// or when its memory reducer sees the isolate quiet just after a mark-compact; when the burst ends later than
// that, nothing allocates enough to trigger either, and the front kept ~4 KiB per departed connection for good
// (the soak's slow-clients scenario: 122 → 135 MiB after 30 s of quiet, 23 MB of dead heap, no mark-compact).
import v8 from 'node:v8';
import vm from 'node:vm';
import type { Logger } from './logger.js';

type Collect = (options: { type: 'major'; execution: 'async' }) => void;

/** Connections that must have gone since the peak before a collection is worth its (incremental) cost. */
const burstConnections = 1_000;
/** How often the open-connection count is looked at. */
const checkEveryMs = 1_000;

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

/** What the check reads: connections open now, and the most open at once since it last asked. */
export interface ConnectionCount {
  readonly open: number;
  takePeak(): number;
}

export class MemoryAfterBursts {
  readonly #connections: ConnectionCount;
  readonly #log: Logger;
  readonly #collect: Collect | null = collector();
  readonly #timer: NodeJS.Timeout;
  /** The most connections open at once since the last collection. */
  #peak = 0;

  constructor(connections: ConnectionCount, log: Logger) {
    this.#connections = connections;
    this.#log = log;
    this.#timer = setInterval(() => this.check(), checkEveryMs).unref();
  }

  /** Collects once if a burst of connections has gone since the peak (the interval calls this). */
  check(): boolean {
    this.#peak = Math.max(this.#peak, this.#connections.takePeak());
    const open = this.#connections.open;
    if (this.#peak - open < burstConnections || !this.#collect) return false;
    this.#log.debug({ peak: this.#peak, open }, 'a burst of connections has gone: full collection');
    this.#peak = open;
    // On a task of its own rather than inside this call: one pause of tens of milliseconds per burst (13 and
    // 29 ms after the soak's 5,000 held connections went), where the memory it returns was held for good.
    this.#collect({ type: 'major', execution: 'async' });
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
