// The front ⇄ pool-worker boundary, typed in one place: the lane task, and the messages that cross a lane
// about each request. Errors cross it as { code, message, stack }, never as live Error objects.
import type { MessagePort } from 'node:worker_threads';

/** Set once per worker thread (piscina workerData). */
export interface PoolWorkerData {
  apps: { prefix: string; module: string }[];
  /** Requests a worker runs at once (--worker-concurrency); more may wait on its lane. */
  concurrency: number;
  /** --idle-spin: how long a worker that has just gone idle keeps polling its lane; 0 never. */
  idleSpinUs: number;
  /**
   * Two Int32s, front-maintained: requests in the pool, and CGI programs running beside it. A worker polls only
   * while the first is at most 1 and the second 0: a polling thread holds a core a script could use.
   */
  poolLoad: SharedArrayBuffer;
}

/**
 * The one piscina task a worker runs: serve requests on `port`, the worker's lane, until told to stop.
 * Requests do not go through piscina one by one: a run() costs several messages and a wake-up, while the
 * lane carries every request's messages, tagged with its id, gathered into one postMessage per event-loop turn.
 */
export interface PoolTask {
  port: MessagePort;
}

/** How a lane's task ends when the front stops it (a worker that dies rejects it instead). */
export interface PoolTaskResult {
  t: 'stopped';
}

/** A request, as the front hands it to a worker. */
export interface RequestStart {
  t: 'request';
  /** Index into PoolWorkerData.apps. */
  app: number;
  /** What the front knows of the request (request-wire.ts): the worker builds the environ from it with buildEnviron. */
  request: string;
  url_scheme: 'http' | 'https';
  /** False when the request has no body: the worker then never waits for one. */
  hasBody: boolean;
}

export type AppFailureCode = 'APP_THREW' | 'APP_PROTOCOL';

/** How one request ended: the last message about it, after its body was finalised. */
export type RequestResult =
  | { t: 'done' }
  | { t: 'aborted' }
  /** It was still waiting its turn when the front asked for it back: it never ran here. */
  | { t: 'withdrawn' }
  | { t: 'failed'; code: AppFailureCode; message: string; stack?: string; headersSent: boolean };

/**
 * Response bytes as they cross a lane: a Uint8Array (its buffer transferred), or, for a small body, a string
 * holding the bytes as latin1 (one char per byte). A string clones into the front's heap with no ArrayBuffer
 * to allocate and sweep, and node:http sends it in one write with the head.
 */
export type WireBytes = Uint8Array | string;

/** The response head as it crosses the lane: headers flat (name, value, name, value…), as `writeHead` takes them. */
export interface ResponseHead {
  status: number;
  reason: string;
  headers: string[];
  /** The worker's thread id, for the access log. */
  worker: number;
}

/**
 * Worker → front, about one request. `us` on a request's last message: how long the app had it, timed by the
 * worker (the front's own clock would add its lag in hearing of the end, and under load that is most of it).
 */
export type WorkerMessage =
  /**
   * The whole response of a request that is over (its body finalised, a 'done' result implied): the common
   * case of a small known body costs one message. `body` is exactly the body, so its length frames it.
   */
  | ({ t: 'response'; body: WireBytes; us: number } & ResponseHead)
  /**
   * The response head, sent with the first body part so a streamed response costs no extra message.
   * `end` set: `body` is the whole body (then `contentLength` is its length).
   */
  | ({ t: 'head'; contentLength: number | null; body: WireBytes | null; end: boolean } & ResponseHead)
  /** A body chunk; its buffer is transferred, not copied. */
  | { t: 'chunk'; data: Uint8Array }
  | { t: 'end' }
  /** The app consumed one request-body chunk: the front may send another. */
  | { t: 'body-ack' }
  /** A line the app wrote to gateway.errors. */
  | { t: 'log'; text: string }
  /**
   * The last message about a request, after its body was finalised (lines it logged meanwhile come first).
   * `us` is absent for a request that never ran here (withdrawn, or aborted before its turn).
   */
  | { t: 'result'; result: RequestResult; us?: number };

/** Front → worker, about one request. */
export type FrontMessage =
  | { t: 'body'; data: Uint8Array }
  | { t: 'body-end' }
  /** The front wrote one response chunk to the socket: the worker may send another. */
  | { t: 'ack' }
  /** The client went away: stop the app at its next chunk and finalise its body. */
  | { t: 'abort' }
  /** Another worker is free: give the request back if it has not started (else this is ignored). */
  | { t: 'withdraw' };

/** What crosses a lane: each message tagged with its request's id, sent in batches (arrays). */
export type ToWorker = ({ id: number } & (FrontMessage | RequestStart)) | { id: 0; t: 'stop' };
export type ToFront =
  | ({ id: number } & WorkerMessage)
  | { id: 0; t: 'hello'; worker: number }
  /** The worker's own V8 heap, in bytes, now and then (the status page shows it). */
  | { id: 0; t: 'heap'; used: number; total: number };

/** How often an idle or busy worker says how big its heap is. */
export const heapReportMs = 2_000;

/** Response chunks in flight before the worker waits for an ack (credit-based flow control). */
export const responseWindow = 8;
/** Request-body chunks in flight before the front waits for the app to read. */
export const requestWindow = 4;

/** Bodies up to this size cross as latin1 strings (see WireBytes). */
export const inlineBodyBytes = 16 * 1024;

/** The bytes of `chunks` (total `bytes` long) in the form that crosses a lane best; an owned copy either way. */
export function toWire(chunks: readonly Uint8Array[], bytes: number): WireBytes {
  if (bytes <= inlineBodyBytes) {
    let s = '';
    for (const c of chunks) s += Buffer.from(c.buffer, c.byteOffset, c.byteLength).toString('latin1');
    return s;
  }
  const out = new Uint8Array(bytes);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/** What must be transferred (not cloned) with a message carrying `body`. */
export const transferOf = (body: WireBytes | null): ArrayBuffer[] | undefined =>
  body instanceof Uint8Array ? [body.buffer as ArrayBuffer] : undefined;

/** A chunk that owns its whole ArrayBuffer can be transferred; a view into a shared one (Buffer's pool) is copied first. */
export function transferable(data: Uint8Array): Uint8Array {
  if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer) return data;
  return new Uint8Array(data); // a copy: Buffer#slice would be a view of the same memory
}
