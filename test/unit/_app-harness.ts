// Test helper: runs an app through the real runApp into an in-memory sink, with a real BodyInput as its body.
import { BodyInput } from '../../src/app/input.js';
import { runApp, type ResponseSink, type RunResult } from '../../src/app/run-app.js';
import type { App, Chunk, Environ } from '../../src/app/types.js';

export interface Captured {
  result: RunResult;
  status: number;
  reason: string;
  headers: [string, string][];
  /** What runApp told the transport before headers went out (from the app's header or a whole-array body). */
  contentLength: number | null;
  body: Uint8Array;
  text: string;
}

const encoder = new TextEncoder();
export const bytes = (c: Chunk): Uint8Array => (typeof c === 'string' ? encoder.encode(c) : c);

async function* chunksOf(body: readonly Chunk[]): AsyncGenerator<Uint8Array> {
  for (const c of body) yield bytes(c);
}

/** A complete, valid environ for `GET /` at an app mounted on '' (override any key). */
export function makeEnviron(over: Record<string, unknown> = {}, body: readonly Chunk[] = [], logged: string[] = []): Environ {
  return {
    REQUEST_METHOD: 'GET',
    SCRIPT_NAME: '',
    PATH_INFO: '/',
    QUERY_STRING: '',
    SERVER_NAME: 'example.test',
    SERVER_PORT: '8000',
    SERVER_PROTOCOL: 'HTTP/1.1',
    SERVER_SOFTWARE: 'gatehouse-test',
    GATEWAY_INTERFACE: 'CGI/1.1',
    REMOTE_ADDR: '127.0.0.1',
    'gateway.version': [1, 0],
    'gateway.url_scheme': 'http',
    'gateway.input': new BodyInput(chunksOf(body)),
    'gateway.errors': {
      write: (text: string) => void logged.push(text),
      writelines: (lines: Iterable<string>) => void logged.push(...lines),
      flush: () => {},
    },
    'gateway.multithread': true,
    'gateway.multiprocess': false,
    'gateway.run_once': false,
    ...over,
  } as Environ;
}

/** An in-memory transport: records the head and the bytes; `abortAfter` chunks, the client goes away. */
export function memorySink(abortAfter = Infinity) {
  const chunks: Uint8Array[] = [];
  const client = new AbortController();
  const head = { status: 0, reason: '', headers: [] as [string, string][], contentLength: null as number | null };
  const sink: ResponseSink = {
    start(status, reason, headers, contentLength) {
      Object.assign(head, { status, reason, headers, contentLength });
    },
    async chunk(data) {
      chunks.push(data.slice());
      if (chunks.length >= abortAfter) client.abort();
    },
    async end() {},
    signal: client.signal,
  };
  return { sink, head, chunks };
}

/** Runs `app` once on `environ` through runApp; rejects as runApp does (AppError). */
export async function call(app: App, environ: Environ = makeEnviron(), options: { abortAfter?: number } = {}): Promise<Captured> {
  const { sink, head, chunks } = memorySink(options.abortAfter);
  const result = await runApp(app, environ, sink);
  const body = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    body.set(c, offset);
    offset += c.length;
  }
  return { result, ...head, body, text: new TextDecoder().decode(body) };
}

export const header = (captured: Captured, name: string) => captured.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
