// pino logging: JSON lines by default, readable when the output is a terminal.
import { pino, type Logger, type DestinationStream } from 'pino';
import type { LogLevel } from './options.js';

export type { Logger };

export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  // Epoch milliseconds (pino's own `time`), not an ISO string: formatting a date for every access line was
  // a visible share of a warm request's cost. pino-pretty shows it as a date on a terminal.
  const base = { level, base: { pid: process.pid } };
  if (destination) return pino(base, destination);
  if (process.stdout.isTTY) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, ignore: 'pid,hostname' } } });
  }
  return pino(base, new TurnBatch(pino.destination({ fd: 1, sync: false })));
}

/** The stream a logger writes its lines to: the access log writes its ready-made lines there too. */
export const streamOf = (log: Logger): DestinationStream => (log as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]!;

/** Past this many characters pending, a batch leaves before the turn ends. */
const maxBatchChars = 64 * 1024;

/**
 * Lines written during one event-loop turn leave as one write at its end. An access line per request made a
 * syscall per request (~15% of CGI throughput, measured); sonic-boom's own minLength batching instead grows
 * one string and measures it on every line, re-copying the batch each time (~4 KB allocated per request).
 */
class TurnBatch implements DestinationStream {
  readonly #out: DestinationStream & { flush(cb?: (e?: Error) => void): void };
  #lines: string[] = [];
  #chars = 0;
  #scheduled = false;

  constructor(out: DestinationStream & { flush(cb?: (e?: Error) => void): void }) {
    this.#out = out;
  }

  write(line: string): void {
    this.#lines.push(line);
    this.#chars += line.length;
    if (this.#chars >= maxBatchChars) this.#send();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#send);
    }
  }

  /** pino's logger.flush(): what is pending goes out now. */
  flush(cb?: (e?: Error) => void): void {
    this.#send();
    this.#out.flush(cb);
  }

  readonly #send = (): void => {
    this.#scheduled = false;
    if (this.#lines.length === 0) return;
    const batch = this.#lines.length === 1 ? this.#lines[0]! : this.#lines.join('');
    this.#lines = [];
    this.#chars = 0;
    this.#out.write(batch);
  };
}
