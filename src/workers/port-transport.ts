// Worker side of one request's messages: the response sink (with credit-based flow control) and the
// request-body source. Buffers cross the lane transferred, never cloned.
import { threadId } from 'node:worker_threads';
import type { ResponseSink } from '../app/run-app.js';
import { responseWindow, type FrontMessage, type WorkerMessage } from './protocol.js';

/** Posts one message about this request (tagged and batched by the lane). */
export type Post = (msg: WorkerMessage, transfer?: ArrayBuffer[]) => void;

/** Bodies up to this size, when their length is known, go out in the same message as the head. */
const coalesceBytes = 64 * 1024;

export class PortSink implements ResponseSink {
  /** A flag, not an AbortSignal: only ever read, and an AbortController costs ~3 µs to make (micro-benchmark). */
  readonly signal = { aborted: false };
  #post: Post;
  #credits = responseWindow;
  #waiting: (() => void) | null = null;
  #head: Extract<WorkerMessage, { t: 'head' }> | null = null;
  #held: Uint8Array[] = [];
  #heldBytes = 0;

  constructor(post: Post) {
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
    this.#head = { t: 'head', status, reason, headers, contentLength, body: null, end: false, worker: threadId };
  }

  async chunk(data: Uint8Array): Promise<void> {
    const head = this.#head;
    if (head && head.contentLength !== null && head.contentLength <= coalesceBytes) {
      // A small body of known length: what the app yields in this turn goes out with the head in one message
      // (the whole response, if it ends in this turn); a later part is never held back waiting for the rest.
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
    } else this.#post({ t: 'chunk', data: bytes }, [bytes.buffer as ArrayBuffer]);
  }

  /** The turn ended before the body did: send the head and what is held, and stream the rest. */
  #release(): void {
    const head = this.#head;
    if (!head || this.signal.aborted) return;
    this.#head = null;
    this.#credits--;
    const bytes = new Uint8Array(Buffer.concat(this.#held)); // a copy, for the same reason as in chunk()
    this.#held = [];
    this.#heldBytes = 0;
    this.#post({ ...head, body: bytes }, [bytes.buffer as ArrayBuffer]);
  }

  async end(): Promise<void> {
    const head = this.#head;
    if (head) {
      this.#head = null;
      const body = this.#held.length === 1 ? this.#held[0]! : Buffer.concat(this.#held);
      const whole = new Uint8Array(body); // a copy, for the same reason as in chunk()
      this.#post({ ...head, body: whole, contentLength: whole.length, end: true }, [whole.buffer as ArrayBuffer]);
    } else this.#post({ t: 'end' });
  }
}

/** The request body as the front sends it: an async iterable that acks each chunk it hands to the app. */
export class PortBodySource implements AsyncIterable<Uint8Array> {
  #post: Post;
  #queue: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  constructor(post: Post) {
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
        this.#post({ t: 'body-ack' });
        yield next;
        continue;
      }
      if (this.#ended) return;
      await new Promise<void>((r) => (this.#wake = r));
    }
  }
}
