// gateway.input: the request body as an asynchronous byte stream with read(size), readline() and iteration.
import type { GatewayInput } from './types.js';

const empty = new Uint8Array(0);

/** Wraps any async source of byte chunks (a MessagePort reader, process.stdin…). */
export class BodyInput implements GatewayInput {
  readonly #from: AsyncIterable<Uint8Array> | null;
  /** Opened at the first read: most apps never read, and an async generator per request is not free. */
  #source: AsyncIterator<Uint8Array> | null = null;
  #buffered: Uint8Array[] = [];
  #bufferedBytes = 0;
  #eof: boolean;

  /** `source` null: a request without a body, at EOF from the start. */
  constructor(source: AsyncIterable<Uint8Array> | null) {
    this.#from = source;
    this.#eof = source === null;
  }

  /** Pulls one more chunk into the buffer; false at EOF. */
  async #fill(): Promise<boolean> {
    if (this.#eof) return false;
    this.#source ??= this.#from![Symbol.asyncIterator]();
    const step = await this.#source.next();
    if (step.done) {
      this.#eof = true;
      return false;
    }
    if (step.value.length > 0) {
      this.#buffered.push(step.value);
      this.#bufferedBytes += step.value.length;
    }
    return true;
  }

  #take(n: number): Uint8Array {
    if (n === 0) return empty;
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#buffered[0]!;
      const want = n - filled;
      if (head.length <= want) {
        out.set(head, filled);
        filled += head.length;
        this.#buffered.shift();
      } else {
        out.set(head.subarray(0, want), filled);
        this.#buffered[0] = head.subarray(want);
        filled += want;
      }
    }
    this.#bufferedBytes -= n;
    return out;
  }

  async read(size?: number): Promise<Uint8Array> {
    if (size === undefined || size < 0) {
      while (await this.#fill());
      return this.#take(this.#bufferedBytes);
    }
    while (this.#bufferedBytes < size && (await this.#fill()));
    return this.#take(Math.min(size, this.#bufferedBytes));
  }

  async readline(): Promise<Uint8Array> {
    for (;;) {
      let offset = 0;
      for (const chunk of this.#buffered) {
        const nl = chunk.indexOf(0x0a);
        if (nl !== -1) return this.#take(offset + nl + 1);
        offset += chunk.length;
      }
      if (!(await this.#fill())) return this.#take(this.#bufferedBytes);
    }
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      if (this.#bufferedBytes === 0 && !(await this.#fill())) return;
      if (this.#bufferedBytes > 0) yield this.#take(this.#bufferedBytes);
    }
  }
}
