// A request body on its way to a pool worker: a Writable onto the request's lane, with its own window.
import { Writable } from 'node:stream';
import { requestWindow, transferable } from '../../workers/protocol.js';
import type { PoolExchange } from './pool-exchange.js';

/** The request body onto the lane, with its own window: the app's reads return the credit. */
export class PortWritable extends Writable {
  #ex: PoolExchange;
  #inFlight = 0;
  #blocked: (() => void) | null = null;

  /** A request with a body runs where it was placed: it is never requeued, so its lane stays. */
  constructor(ex: PoolExchange) {
    super();
    this.#ex = ex;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    const data = transferable(chunk);
    this.#ex.lane?.send(this.#ex.id, { t: 'body', data }, [data.buffer as ArrayBuffer]);
    if (++this.#inFlight < requestWindow) cb();
    else this.#blocked = cb;
  }

  override _final(cb: (e?: Error | null) => void): void {
    this.#ex.lane?.send(this.#ex.id, { t: 'body-end' });
    cb();
  }

  credit(): void {
    this.#inFlight--;
    const cb = this.#blocked;
    this.#blocked = null;
    cb?.();
  }
}
