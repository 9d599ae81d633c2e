// Log lines gathered per event-loop turn as bytes, and written to the log's file descriptor as one write.
import type { DestinationStream } from 'pino';

/** The byte stream under the batch: sonic-boom in buffer mode (pino.destination({ contentMode: 'buffer' })). */
export interface ByteSink {
  write(data: Buffer): boolean;
  flush(cb?: (e?: Error) => void): void;
}

/** Lines are encoded into chunks of this size; a chunk is never rewritten, so a write in progress keeps its bytes. */
const chunkBytes = 64 * 1024;
/** Past this many bytes pending, a batch leaves before the turn ends. */
const sendAtBytes = 16 * 1024;

/**
 * Lines written during one turn leave together at its end: an access line per request made a syscall per
 * request (~15% of CGI throughput, measured). Lines are bytes from the start: the access log encodes its
 * line straight into the chunk (access-line.ts) with no string built, and pino's own lines are copied in.
 * Building an access line as a string cost bare node:http ~20% of its rate (wrk, c=64) and, in the front,
 * tipped V8 into promoting ~15% of what it allocated.
 */
export class LineBatch implements DestinationStream {
  readonly #out: ByteSink;
  #chunk = Buffer.allocUnsafeSlow(chunkBytes);
  /** Bytes before this offset have been handed to the sink. */
  #from = 0;
  #at = 0;
  #scheduled = false;

  constructor(out: ByteSink) {
    this.#out = out;
  }

  /** Where to encode up to `bytes` more bytes in `chunk`; null if a line that long does not fit a chunk. */
  reserve(bytes: number): number | null {
    if (bytes > chunkBytes) return null;
    if (this.#at + bytes > chunkBytes) {
      this.#send();
      this.#chunk = Buffer.allocUnsafeSlow(chunkBytes);
      this.#from = this.#at = 0;
    }
    return this.#at;
  }

  /** The chunk a reserved line is encoded into. */
  get chunk(): Buffer {
    return this.#chunk;
  }

  /** The line encoded after `reserve` ends at `end`. */
  commit(end: number): void {
    this.#at = end;
    if (end - this.#from >= sendAtBytes) this.#send();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#send);
    }
  }

  /** pino's lines (strings). */
  write(line: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit.
    const at = this.reserve(line.length * 3);
    if (at === null) {
      this.#send();
      this.#out.write(Buffer.from(line, 'utf8'));
      return;
    }
    this.commit(at + this.#chunk.write(line, at, 'utf8'));
  }

  /** pino's logger.flush(): what is pending goes out now. */
  flush(cb?: (e?: Error) => void): void {
    this.#send();
    this.#out.flush(cb);
  }

  readonly #send = (): void => {
    this.#scheduled = false;
    if (this.#at === this.#from) return;
    this.#out.write(this.#chunk.subarray(this.#from, this.#at));
    this.#from = this.#at;
  };
}
