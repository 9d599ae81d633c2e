// Worker side of one request's messages: the response sink (with credit-based flow control) and the
// request-body source. Buffers cross the lane transferred, never cloned.
import { threadId } from 'node:worker_threads';
import type { ResponseSink } from '../app/run-app.js';
import { responseWindow, toWire, transferOf, type FrontMessage, type ToFront, type WorkerMessage } from './protocol.js';

/** Posts one message onto the lane (batched there); each carries its request's id. */
export type Post = (msg: ToFront, transfer?: ArrayBuffer[]) => void;

/** Bodies up to this size, when their length is known, go out in the same message as the head. */
const coalesceBytes = 64 * 1024;

type Head = { id: number } & Extract<WorkerMessage, { t: 'head' }>;

export class PortSink implements ResponseSink {
  /** A flag, not an AbortSignal: only ever read, and an AbortController costs ~3 µs to make (micro-benchmark). */
  readonly signal = { aborted: false };
  #post: Post;
  #credits = responseWindow;
  #waiting: (() => void) | null = null;
  #head: Head | null = null;
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** The whole response, when end() came before any of it left: the worker sends it with the result. */
  #whole: Head | null = null;
  readonly #id: number;

  constructor(id: number, post: Post) {
    this.#id = id;
    this.#post = post;
  }

  /** Feed every FrontMessage here. */
  onMessage(msg: FrontMessage): void {
    if (msg.t === 'ack') {
      this.#credits++;
      const w = this.#waiting;
      this.#waiting = null;
      w?.();
    } else if (msg.t === 'abort') {
      this.signal.aborted = true;
      const w = this.#waiting;
      this.#waiting = null;
      w?.();
    }
  }

  start(status: number, reason: string, headers: [string, string][], contentLength: number | null): void {
    const flat: string[] = [];
    for (const [name, value] of headers) flat.push(name, value);
    this.#head = { t: 'head', id: this.#id, status, reason, headers: flat, contentLength, body: null, end: false, worker: threadId };
  }

  async chunk(data: Uint8Array): Promise<void> {
    const head = this.#head;
    if (head && head.contentLength !== null && head.contentLength <= coalesceBytes) {
      // A small body of known length: what the app yields in this turn goes out with the head in one message
      // (the whole response, if it ends in this turn); a later part is never held back waiting for the rest.
      // Held as given: end() or #release() copy it before it leaves.
      this.#held.push(data);
      this.#heldBytes += data.length;
      if (this.#held.length === 1) setImmediate(() => this.#release());
      return;
    }
    while (this.#credits === 0 && !this.signal.aborted) await new Promise<void>((r) => (this.#waiting = r));
    if (this.signal.aborted) return;
    this.#credits--;
    // A copy: the app may hold on to its chunk (a constant, a chunk yielded twice), and a transferred
    // buffer is emptied on this side.
    const bytes = new Uint8Array(data);
    if (head) {
      this.#head = null;
      this.#post({ ...head, body: bytes }, [bytes.buffer as ArrayBuffer]);
    } else this.#post({ t: 'chunk', id: this.#id, data: bytes }, [bytes.buffer as ArrayBuffer]);
  }

  /** The turn ended before the body did: send the head and what is held, and stream the rest. */
  #release(): void {
    const head = this.#head;
    if (!head || this.signal.aborted) return;
    this.#head = null;
    this.#credits--;
    const body = toWire(this.#held, this.#heldBytes);
    this.#held = [];
    this.#heldBytes = 0;
    this.#post({ ...head, body }, transferOf(body));
  }

  async end(): Promise<void> {
    const head = this.#head;
    if (head) {
      this.#head = null;
      const body = toWire(this.#held, this.#heldBytes);
      this.#whole = { ...head, body, contentLength: this.#heldBytes, end: true };
      this.#held = [];
    } else this.#post({ t: 'end', id: this.#id });
  }

  /**
   * The response held by end(), if any, as the request's last message: one 'response' when the request is
   * done, else the head (a body that failed to close still leaves its complete response) for a result to follow.
   */
  takeWhole(done: boolean, us: number): ToFront | null {
    const whole = this.#whole;
    this.#whole = null;
    if (!whole || this.signal.aborted) return null;
    if (!done) return whole;
    const { id, status, reason, headers, body, worker } = whole;
    return { t: 'response', id, status, reason, headers, body: body!, worker, us };
  }
}

/** The request body as the front sends it: an async iterable that acks each chunk it hands to the app. */
export class PortBodySource implements AsyncIterable<Uint8Array> {
  #post: Post;
  readonly #id: number;
  #queue: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(id: number, post: Post) {
    this.#id = id;
    this.#post = post;
  }

  onMessage(msg: FrontMessage): void {
    if (msg.t === 'body') this.#queue.push(msg.data);
    else if (msg.t === 'body-end' || msg.t === 'abort') this.#ended = true;
    else return;
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const next = this.#queue.shift();
      if (next) {
        this.#post({ t: 'body-ack', id: this.#id });
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
}
