// Calls an app and checks what it returns (PEP 3333 semantics). The pool worker and the per-request
// CGI child both use this one function, so an app behaves identically in both modes.
import type { App, Body, Chunk, Environ, StartResponse, Write } from './types.js';

/** What the transport underneath provides. */
export interface ResponseSink {
  /** The response head; `contentLength` is set when the whole body is known before headers go out. */
  start(status: number, reason: string, headers: [string, string][], contentLength: number | null): void;
  /** Resolves when the transport can take more (flow control); returns nothing when there is nothing to wait for. */
  chunk(data: Uint8Array): Promise<void> | void;
  end(): Promise<void> | void;
  /** Aborted on client disconnect or shutdown: the app is stopped at its next chunk and its body finalised. */
  readonly signal: { readonly aborted: boolean };
}

export type AppErrorCode = 'APP_THREW' | 'APP_PROTOCOL';

/** A failure of the app; `headersSent` tells whether a status page is still possible. */
export class AppError extends Error {
  override name = 'AppError';
  constructor(
    readonly code: AppErrorCode,
    message: string,
    readonly headersSent: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Headers that belong to one connection, so only the gateway may set them (PEP 3333). */
export const hopByHop: ReadonlySet<string> = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'trailers', 'transfer-encoding', 'upgrade']);
/** An HTTP field name (RFC 9110 token). */
export const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const encoder = new TextEncoder();
function toBytes(c: unknown, headersSent: boolean): Uint8Array {
  if (typeof c === 'string') return encoder.encode(c);
  if (c instanceof Uint8Array) return c;
  throw new AppError('APP_PROTOCOL', `body chunk is a ${c === null ? 'null' : typeof c}, not a string or Uint8Array`, headersSent);
}

export type RunResult = 'completed' | 'aborted';

/**
 * Runs `app` once. Resolves 'completed' or 'aborted' (client gone); rejects with AppError.
 * The body is always finalised (iterator return(), then close()), whatever happens.
 */
export async function runApp(app: App, environ: Environ, sink: ResponseSink): Promise<RunResult> {
  let pending: { status: string; headers: [string, string][] } | null = null;
  let headersSent = false;
  let declaredLength: number | null = null;
  let sent = 0;
  /** The chain of write() calls, once an app uses write(). */
  let writes: Promise<void> | null = null;

  const sendHeaders = (knownLength: number | null) => {
    if (!pending) throw new AppError('APP_PROTOCOL', 'body produced before startResponse was called', false);
    const { code, reason, headers, contentLength } = checkResponse(pending.status, pending.headers);
    declaredLength = contentLength;
    headersSent = true;
    sink.start(code, reason, headers, contentLength ?? knownLength);
  };

  // Returns the sink's promise only when there is something to wait for: a warm request's few chunks should
  // not cost a promise and a microtask each.
  const emit = (chunk: Chunk): Promise<void> | void => {
    const bytes = toBytes(chunk, headersSent);
    if (bytes.length === 0) return; // headers wait for the first non-empty chunk
    if (!headersSent) sendHeaders(null);
    sent += bytes.length;
    if (declaredLength !== null && sent > declaredLength) {
      throw new AppError('APP_PROTOCOL', `body longer than its Content-Length ${declaredLength}`, true);
    }
    return sink.chunk(bytes);
  };

  const write: Write = (chunk) => {
    writes = (writes ?? Promise.resolve()).then(() => emit(chunk));
    return writes;
  };

  const startResponse: StartResponse = (status, headers, excInfo) => {
    if (pending && excInfo === undefined) throw new AppError('APP_PROTOCOL', 'startResponse called twice without excInfo', headersSent);
    if (excInfo !== undefined && headersSent) throw excInfo; // PEP 3333: too late to change the response
    pending = { status, headers };
    return write;
  };

  let body: Body | undefined;
  let iterator: Iterator<Chunk> | AsyncIterator<Chunk> | undefined;
  let exhausted = false;
  try {
    try {
      const returned = app(environ, startResponse);
      body = isThenable(returned) ? await returned : returned;
    } catch (e) {
      throw e instanceof AppError ? e : new AppError(failureCode(e), describe(e), headersSent, { cause: e });
    }
    if (writes) await writes;
    if (body == null || (typeof (body as Iterable<Chunk>)[Symbol.iterator] !== 'function' && typeof (body as AsyncIterable<Chunk>)[Symbol.asyncIterator] !== 'function')) {
      throw new AppError('APP_PROTOCOL', 'the app returned something that is not an iterable of chunks', headersSent);
    }
    if (Array.isArray(body) && !headersSent) {
      // The whole body is known before headers must go out: the front can send Content-Length.
      const chunks = (body as Chunk[]).map((c) => toBytes(c, false));
      const total = chunks.reduce((n, c) => n + c.length, 0);
      if (total > 0) sendHeaders(total);
      for (const c of chunks) {
        const wait = emit(c);
        if (wait) await wait;
      }
      exhausted = true;
    } else {
      iterator = Symbol.asyncIterator in body ? (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]() : (body as Iterable<Chunk>)[Symbol.iterator]();
      for (;;) {
        if (sink.signal.aborted) return 'aborted';
        let step: IteratorResult<Chunk>;
        try {
          step = await iterator.next();
        } catch (e) {
          exhausted = true; // a generator that threw is already finished
          throw e instanceof AppError ? e : new AppError(failureCode(e), describe(e), headersSent, { cause: e });
        }
        if (step.done) {
          exhausted = true;
          break;
        }
        const wait = emit(step.value);
        if (wait) await wait;
      }
    }
    if (sink.signal.aborted) return 'aborted';
    if (!headersSent) sendHeaders(0);
    if (declaredLength !== null && sent < declaredLength) {
      throw new AppError('APP_PROTOCOL', `body shorter (${sent} bytes) than its Content-Length ${declaredLength}`, true);
    }
    const ended = sink.end();
    if (ended) await ended;
    return 'completed';
  } finally {
    const open = exhausted ? undefined : iterator;
    if (open?.return || typeof (body as { close?: unknown } | undefined)?.close === 'function') await finalise(body, open);
  }
}

function isThenable<T>(v: T | PromiseLike<T>): v is PromiseLike<T> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** PEP 3333: the server always calls the iterable's close(); for JS iterators, return() too. */
async function finalise(body: Body | undefined, iterator: Iterator<Chunk> | AsyncIterator<Chunk> | undefined): Promise<void> {
  try {
    await iterator?.return?.();
  } finally {
    const close = (body as { close?: () => unknown } | undefined)?.close;
    if (typeof close === 'function') await close.call(body);
  }
}

/** Validates status and headers: errors here become 500 (before headers) with the rule named. */
export function checkResponse(status: string, headers: [string, string][]) {
  if (typeof status !== 'string') throw new AppError('APP_PROTOCOL', `status must be a string, got ${typeof status}`, false);
  const m = /^(\d{3}) ([^\0\r\n]*)$/.exec(status);
  const code = m ? Number(m[1]) : NaN;
  if (!m || code < 200 || code > 599) throw new AppError('APP_PROTOCOL', `malformed status ${JSON.stringify(status.slice(0, 80))}: expected "NNN reason", NNN from 200 to 599`, false);
  if (!Array.isArray(headers)) throw new AppError('APP_PROTOCOL', 'headers must be an array of [name, value] pairs', false);
  let contentLength: number | null = null;
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') {
      throw new AppError('APP_PROTOCOL', 'each header must be a [name, value] pair of strings', false);
    }
    const [name, value] = pair;
    const lower = name.toLowerCase();
    if (!token.test(name)) throw new AppError('APP_PROTOCOL', `invalid header name ${JSON.stringify(name.slice(0, 80))}`, false);
    if (/[\0\r\n]/.test(value)) throw new AppError('APP_PROTOCOL', `CR, LF or NUL in the value of header ${name}`, false);
    if (hopByHop.has(lower)) throw new AppError('APP_PROTOCOL', `hop-by-hop header ${name} is the gateway's business`, false);
    if (lower === 'status') throw new AppError('APP_PROTOCOL', 'a Status header is not allowed: the status goes in startResponse', false);
    if (lower === 'content-length') {
      if (!/^\d+$/.test(value)) throw new AppError('APP_PROTOCOL', `Content-Length ${JSON.stringify(value)} is not a number`, false);
      contentLength = Number(value);
    }
  }
  return { code, reason: m[2]!, headers: headers.filter(([n]) => n.toLowerCase() !== 'content-length'), contentLength };
}

/** A validator's complaint is a broken contract, not an app crash. */
const failureCode = (e: unknown): AppErrorCode => ((e as { name?: unknown } | null)?.name === 'ValidationError' ? 'APP_PROTOCOL' : 'APP_THREW');

function describe(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : `thrown value ${String(e)}`;
}
