// The validator (wsgiref.validate's idea): wraps an app and checks both sides of the contract, naming the rule broken.
import type { App, Body, Chunk, Environ, StartResponse, Write } from './types.js';
import { hopByHop, token } from './run-app.js';

/** Every rule checked, by id; a ValidationError's message starts with the id and this sentence. */
export const validationRules = {
  // The gateway's side: what it hands the app.
  'call-shape': 'the app is called with (environ, startResponse), startResponse a function',
  'environ-object': 'environ is an object',
  'environ-required': 'REQUEST_METHOD, SERVER_NAME, SERVER_PORT, SERVER_PROTOCOL and QUERY_STRING are strings',
  'environ-cgi-strings': 'every key without a "." (a CGI variable) holds a string',
  'environ-paths': 'SCRIPT_NAME and PATH_INFO are strings, empty or starting with "/"',
  'environ-script-name-root': 'SCRIPT_NAME is never "/": an app at the root has SCRIPT_NAME "" and PATH_INFO "/"',
  'environ-content-length': 'CONTENT_LENGTH, when present and not empty, is digits',
  'environ-http-content': 'the body headers are CONTENT_TYPE and CONTENT_LENGTH, never HTTP_CONTENT_TYPE/HTTP_CONTENT_LENGTH',
  'environ-version': 'gateway.version is [1, 0]',
  'environ-url-scheme': "gateway.url_scheme is 'http' or 'https'",
  'environ-input': 'gateway.input has read(), readline() and async iteration',
  'environ-errors': 'gateway.errors has write(), writelines() and flush()',
  'environ-flags': 'gateway.multithread, gateway.multiprocess and gateway.run_once are booleans',
  // The app's side: what it answers.
  // A final status: an interim 1xx cannot be an app's answer, and the gateway refuses it as runApp does.
  'status': 'the status is a string "NNN reason" (NNN from 200 to 599) with no control characters',
  'headers-list': 'headers are an array of [name, value] pairs of strings',
  'header-control': 'header names and values hold no control characters',
  'header-name': 'header names are HTTP tokens',
  'header-status': 'no Status header: the status goes in startResponse',
  'header-hop-by-hop': "no hop-by-hop headers (Connection, Transfer-Encoding…): they are the gateway's business",
  'header-content-length': 'a Content-Length header is digits',
  'content-type': 'Content-Type is present unless the status is 204 or 304',
  'start-response-twice': 'startResponse is called again only with excInfo',
  'start-response-first': 'startResponse is called before the first non-empty chunk, and before the body ends',
  'body-iterable': 'the app returns an iterable or async iterable of chunks (not a bare string or bytes)',
  'body-chunk': 'each chunk, returned or written, is a string or a Uint8Array',
  'body-after-close': 'no chunk is pulled after the body was closed',
  'content-length-match': 'the bytes produced equal the Content-Length',
} as const;

export type ValidationRule = keyof typeof validationRules;

export class ValidationError extends Error {
  override name = 'ValidationError';
  constructor(
    readonly rule: ValidationRule,
    detail: string,
  ) {
    super(`${rule}: ${validationRules[rule]} (${detail})`);
  }
}

function check(ok: boolean, rule: ValidationRule, detail: () => string): asserts ok {
  if (!ok) throw new ValidationError(rule, detail());
}

const show = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v.slice(0, 80)) : v === null ? 'null' : Array.isArray(v) ? 'an array' : `a ${typeof v}`);
const isFunction = (o: unknown, key: PropertyKey) => typeof (o as Record<PropertyKey, unknown> | null)?.[key] === 'function';

// RFC 9110 §7.6.1 (plus Keep-Alive, Proxy-*, Trailer(s), as wsgiref lists them).
// HTAB is legal inside a field value (RFC 9110 §5.5); every other C0 control and DEL is not.
const controlInValue = /[\x00-\x08\x0a-\x1f\x7f]/;
const controlInName = /[\x00-\x1f\x7f]/;

function checkEnviron(environ: unknown): asserts environ is Environ {
  check(typeof environ === 'object' && environ !== null && !Array.isArray(environ), 'environ-object', () => `got ${show(environ)}`);
  const env = environ as Record<string, unknown>;
  for (const key of ['REQUEST_METHOD', 'SERVER_NAME', 'SERVER_PORT', 'SERVER_PROTOCOL', 'QUERY_STRING']) {
    check(typeof env[key] === 'string', 'environ-required', () => `${key} is ${show(env[key])}`);
  }
  // PEP 3333: CGI keys are native strings; extension keys carry a '.' (gateway.input, myapp.session).
  for (const [key, value] of Object.entries(env)) {
    check(key.includes('.') || typeof value === 'string', 'environ-cgi-strings', () => `${key} is ${show(value)}`);
  }
  for (const key of ['SCRIPT_NAME', 'PATH_INFO']) {
    const v = env[key];
    check(typeof v === 'string' && (v === '' || v.startsWith('/')), 'environ-paths', () => `${key} is ${show(v)}`);
  }
  check(env.SCRIPT_NAME !== '/', 'environ-script-name-root', () => 'SCRIPT_NAME is "/"');
  // PEP 3333 allows an empty CONTENT_LENGTH (no body), as CGI does.
  const length = env.CONTENT_LENGTH;
  check(length === undefined || (typeof length === 'string' && /^\d*$/.test(length)), 'environ-content-length', () => `CONTENT_LENGTH is ${show(length)}`);
  for (const key of ['HTTP_CONTENT_TYPE', 'HTTP_CONTENT_LENGTH']) check(!(key in env), 'environ-http-content', () => `${key} is set`);

  const version = env['gateway.version'];
  check(Array.isArray(version) && version.length === 2 && version[0] === 1 && version[1] === 0, 'environ-version', () => `got ${JSON.stringify(version)}`);
  const scheme = env['gateway.url_scheme'];
  check(scheme === 'http' || scheme === 'https', 'environ-url-scheme', () => `got ${show(scheme)}`);
  const input = env['gateway.input'];
  for (const key of ['read', 'readline', Symbol.asyncIterator]) {
    check(isFunction(input, key), 'environ-input', () => `gateway.input has no ${String(key)}`);
  }
  const errors = env['gateway.errors'];
  for (const key of ['write', 'writelines', 'flush']) check(isFunction(errors, key), 'environ-errors', () => `gateway.errors has no ${key}()`);
  for (const key of ['gateway.multithread', 'gateway.multiprocess', 'gateway.run_once']) {
    check(typeof env[key] === 'boolean', 'environ-flags', () => `${key} is ${show(env[key])}`);
  }
}

/** Checks one startResponse call; returns the status code and the declared Content-Length. */
function checkStart(status: unknown, headers: unknown): { code: number; contentLength: number | null } {
  check(typeof status === 'string' && /^\d{3} ./.test(status) && !controlInName.test(status) && Number(status.slice(0, 3)) >= 200 && Number(status.slice(0, 3)) <= 599, 'status', () => `got ${show(status)}`);
  check(Array.isArray(headers), 'headers-list', () => `got ${show(headers)}`);
  const code = Number(status.slice(0, 3));
  let contentLength: number | null = null;
  let contentType = false;
  for (const pair of headers as unknown[]) {
    check(Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string', 'headers-list', () => `an entry is ${show(pair)}`);
    const [name, value] = pair as [string, string];
    check(!controlInName.test(name) && !controlInValue.test(value), 'header-control', () => `in header ${JSON.stringify(name)}`);
    check(token.test(name), 'header-name', () => `got ${show(name)}`);
    const lower = name.toLowerCase();
    check(lower !== 'status', 'header-status', () => `got ${name}: ${value}`);
    check(!hopByHop.has(lower), 'header-hop-by-hop', () => `got ${name}`);
    if (lower === 'content-length') {
      check(/^\d+$/.test(value), 'header-content-length', () => `got ${show(value)}`);
      contentLength = Number(value);
    }
    if (lower === 'content-type') contentType = true;
  }
  // RFC 9110 §15.3.5, §15.4.5: these responses carry no content, so nothing to describe.
  check(contentType || code === 204 || code === 304, 'content-type', () => `status ${code} without Content-Type`);
  return { code, contentLength };
}

/** What the app has said so far; shared by startResponse, write() and the body. */
class ResponseState {
  started = false;
  contentLength: number | null = null;
  sent = 0;

  chunk(chunk: unknown): void {
    check(typeof chunk === 'string' || chunk instanceof Uint8Array, 'body-chunk', () => `got ${show(chunk)}`);
    const bytes = typeof chunk === 'string' ? Buffer.byteLength(chunk, 'utf8') : chunk.length;
    if (bytes === 0) return; // an empty chunk sends nothing (PEP 3333), so it may come first
    check(this.started, 'start-response-first', () => 'a non-empty chunk came before startResponse');
    this.sent += bytes;
    const declared = this.contentLength;
    check(declared === null || this.sent <= declared, 'content-length-match', () => `more than ${declared} bytes`);
  }

  end(): void {
    check(this.started, 'start-response-first', () => 'the body ended and startResponse was never called');
    const declared = this.contentLength;
    check(declared === null || this.sent === declared, 'content-length-match', () => `${this.sent} bytes, Content-Length ${declared}`);
  }
}

/** Wraps `app`: throws ValidationError (inside the call, so the gateway answers 500) on any broken rule. */
export function validator(app: App): App {
  return async function validated(environ: Environ, startResponse: StartResponse) {
    check(typeof startResponse === 'function', 'call-shape', () => `startResponse is ${show(startResponse)}`);
    checkEnviron(environ);
    const response = new ResponseState();

    const checkedStart: StartResponse = (status, headers, excInfo) => {
      check(!response.started || excInfo !== undefined, 'start-response-twice', () => `second status ${show(status)}`);
      const { contentLength } = checkStart(status, headers);
      const write = startResponse(status, headers, excInfo);
      response.started = true;
      response.contentLength = contentLength;
      const checkedWrite: Write = (chunk) => {
        response.chunk(chunk);
        return write(chunk);
      };
      return checkedWrite;
    };

    const body: unknown = await app(environ, checkedStart);
    check(
      body != null && typeof body !== 'string' && !(body instanceof Uint8Array) && (isFunction(body, Symbol.iterator) || isFunction(body, Symbol.asyncIterator)),
      'body-iterable',
      () => `got ${show(body)}`,
    );
    return Array.isArray(body) ? checkedArray(body, response) : checkedIterable(body as Body, response);
  };
}

/**
 * An array is checked whole, now, and handed on as an array: the gateway can then still frame it with a
 * Content-Length, so a correct app's response is the same with and without the validator.
 */
function checkedArray(body: unknown[], response: ResponseState): Body {
  let closed = false;
  const close = () => {
    if (closed) return undefined;
    closed = true;
    return isFunction(body, 'close') ? (body as unknown as { close(): unknown }).close() : undefined;
  };
  try {
    for (const chunk of body) response.chunk(chunk);
    response.end();
  } catch (e) {
    // The gateway never sees this body, so it cannot close it: the validator does.
    close();
    throw e;
  }
  const copy = [...(body as Chunk[])];
  // Not enumerable: the copy must still look like a plain array of chunks.
  Object.defineProperty(copy, 'close', { value: close });
  return copy;
}

type AnyIterator = Iterator<Chunk> | AsyncIterator<Chunk>;

/**
 * Any other body is passed through chunk by chunk. Finalisation is forwarded exactly once: return() to the
 * app's iterator, close() to the app's body; close() alone also returns an unfinished iterator, so a
 * generator's `finally` runs even when the gateway stopped it between chunks or this validator threw.
 */
function checkedIterable(body: Body, response: ResponseState): Body {
  const isAsync = isFunction(body, Symbol.asyncIterator);
  let iterator: AnyIterator | undefined;
  let finished = false; // done, or threw: nothing left to return()
  let returned = false;
  let closed = false;
  let bodyClosed = false;

  const pull = (): AnyIterator => {
    check(!returned && !closed, 'body-after-close', () => 'next() after return() or close()');
    iterator ??= isAsync ? (body as AsyncIterable<Chunk>)[Symbol.asyncIterator]() : (body as Iterable<Chunk>)[Symbol.iterator]();
    return iterator;
  };
  const step = (result: IteratorResult<Chunk>): IteratorResult<Chunk> => {
    if (result.done) {
      finished = true;
      response.end();
    } else response.chunk(result.value);
    return result;
  };
  const fail = (e: unknown): never => {
    finished = true; // an iterator that threw is over: JS generators do not resume after a throw
    throw e;
  };
  const forwardReturn = (): unknown => {
    if (returned || finished || !iterator) return undefined;
    returned = true;
    return iterator.return?.();
  };
  const forwardClose = (): unknown => {
    if (bodyClosed) return undefined;
    bodyClosed = true;
    return isFunction(body, 'close') ? (body as unknown as { close(): unknown }).close() : undefined;
  };

  if (isAsync) {
    const wrapper = {
      [Symbol.asyncIterator]: () => wrapper,
      async next(): Promise<IteratorResult<Chunk>> {
        const it = pull();
        let result: IteratorResult<Chunk>;
        try {
          result = await it.next();
        } catch (e) {
          return fail(e);
        }
        return step(result);
      },
      async return(): Promise<IteratorResult<Chunk>> {
        await forwardReturn();
        returned = true;
        return { done: true, value: undefined };
      },
      async close(): Promise<void> {
        closed = true;
        try {
          await forwardReturn();
        } finally {
          await forwardClose();
        }
      },
    };
    return wrapper;
  }
  const wrapper = {
    [Symbol.iterator]: () => wrapper,
    next(): IteratorResult<Chunk> {
      const it = pull() as Iterator<Chunk>;
      let result: IteratorResult<Chunk>;
      try {
        result = it.next();
      } catch (e) {
        return fail(e);
      }
      return step(result);
    },
    return(): IteratorResult<Chunk> {
      forwardReturn();
      returned = true;
      return { done: true, value: undefined };
    },
    close(): unknown {
      closed = true;
      try {
        forwardReturn();
      } catch (e) {
        forwardClose(); // the body is closed even when its iterator's return() threw, as runApp does
        throw e;
      }
      return forwardClose();
    },
  };
  return wrapper;
}
